// Where the key lives: sessionStorage (gone when the tab closes), seeded
// from the "#key=...&workspace=..." fragment that `shadower demo` prints.

export const KEY_STORAGE = 'shadower.key';

export interface Fragment {
  key: string | null;
  workspace: string | null;
}

export function parseFragment(hash: string): Fragment {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  return { key: q.get('key') || null, workspace: q.get('workspace') || null };
}

export function storedKey(storage: Storage = window.sessionStorage): string | null {
  try {
    return storage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null, storage: Storage = window.sessionStorage): void {
  try {
    if (key) storage.setItem(KEY_STORAGE, key);
    else storage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: the key lives only as long as the page.
  }
}

/**
 * Takes a key (and workspace) from the URL fragment: stores the key, moves
 * the workspace into the query (?ws=) and removes the fragment from the
 * address bar and history, so the key is not left in the URL. Returns the key
 * found, if any.
 */
export function consumeFragment(win: Window = window): string | null {
  const { key, workspace } = parseFragment(win.location.hash);
  if (!key && !workspace) return null;
  if (key) storeKey(key, win.sessionStorage);
  const q = new URLSearchParams(win.location.search);
  if (workspace) q.set('ws', workspace);
  const qs = q.toString();
  win.history.replaceState(null, '', win.location.pathname + (qs ? '?' + qs : ''));
  return key;
}
