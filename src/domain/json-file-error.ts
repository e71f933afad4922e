/**
 * Why a JSON file could not be read or parsed, without quoting it: Node's parser quotes the text it choked on, and
 * the file may hold tokens or secrets, or be any file on the host that a path pointed at.
 */
export function describeJsonFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return `cannot be read (${code})`;
  const at = /position (\d+)/.exec(String((error as Error | undefined)?.message ?? ''))?.[1];
  return `is not valid JSON${at === undefined ? '' : ` (at character ${at})`}`;
}
