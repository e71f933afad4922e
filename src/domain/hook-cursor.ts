/** The key of a hook's delivery cursor in `runs.hook_cursors`: hook names may hold dots and slashes, keys may not. */
export function hookCursorKey(hook: string): string {
  return hook.replace(/[^A-Za-z0-9_-]/g, '_');
}
