import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach, vi } from 'vitest';
import { createElement } from 'react';

// jsdom has no canvas: charts render as a labelled placeholder, which is
// what tests look for (by role "img" and name). The transforms that feed
// them are tested on their own.
vi.mock('react-chartjs-2', () => {
  const Fake = (props: Record<string, unknown>) =>
    createElement('canvas', { role: props.role ?? 'img', 'aria-label': props['aria-label'] });
  return { Chart: Fake, Bar: Fake, Line: Fake };
});

afterEach(() => {
  cleanup();
  window.sessionStorage.clear();
  window.history.replaceState(null, '', '/');
});
