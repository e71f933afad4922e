/** A plain text table: columns padded to their widest cell. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** One page of a list as a table, and the flag that gets the next page when there is one. */
export function formatPage<T>(
  page: { items: readonly T[]; next_cursor?: string },
  headers: readonly string[],
  row: (item: T) => readonly string[],
): string {
  return formatTable(headers, page.items.map(row)) + (page.next_cursor ? `next: --cursor ${page.next_cursor}\n` : '');
}
