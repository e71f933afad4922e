/** A run's or step's status as a coloured badge; the word is always there, colour only adds to it. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}
