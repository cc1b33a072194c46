// What a view (the overview, a Rollout page) may tell the frame around it.

import type { Scope } from '../shared/api.js';

export interface Shell {
  /** The view's stream is connected (true) or being reconnected (false). */
  setConnection(open: boolean): void;
  /** A connection problem the server is retrying; undefined once it works again. */
  setTrouble(message: string | undefined): void;
  setScope(scope: Scope): void;
  /** Read out by screen readers. */
  announce(text: string): void;
  setTitle(title: string): void;
}

export interface View {
  close(): void;
}
