/**
 * Text from the store or a log, made safe for a terminal: escape sequences and control characters (but newline
 * and tab) are removed, so a step's output or an error message cannot move the cursor, retitle the window or
 * rewrite what the operator sees.
 */
export function stripControlSequences(text: string): string {
  /* eslint-disable no-control-regex -- matching control characters is the point here */
  return text
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
  /* eslint-enable no-control-regex */
}
