import { describe, expect, it } from 'vitest';
import { consumeFragment, KEY_STORAGE, parseFragment, storedKey, storeKey } from './auth';

describe('key from the address fragment', () => {
  it('parses key and workspace', () => {
    expect(parseFragment('#key=shk_abc-_9&workspace=acme')).toEqual({ key: 'shk_abc-_9', workspace: 'acme' });
    expect(parseFragment('')).toEqual({ key: null, workspace: null });
  });
  it('stores the key, moves the workspace to the query and removes the fragment', () => {
    window.history.replaceState(null, '', '/?tf=7d#key=shk_abc&workspace=acme');
    expect(consumeFragment()).toBe('shk_abc');
    expect(window.sessionStorage.getItem(KEY_STORAGE)).toBe('shk_abc');
    expect(window.location.hash).toBe('');
    expect(window.location.search).toBe('?tf=7d&ws=acme');
  });
  it('does nothing without a fragment', () => {
    window.history.replaceState(null, '', '/?ws=x');
    expect(consumeFragment()).toBeNull();
    expect(window.location.search).toBe('?ws=x');
  });
  it('stores and forgets', () => {
    storeKey('k1');
    expect(storedKey()).toBe('k1');
    storeKey(null);
    expect(storedKey()).toBeNull();
  });
});
