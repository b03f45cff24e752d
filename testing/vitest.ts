/**
 * Registers reins' matchers with vitest: `import 'reins/testing/vitest'` in a
 * test file or a setup file. The rest of reins/testing needs no vitest.
 */
import { expect } from 'vitest';
import type { TerminalReason } from '../machines/outcome.js';
import { reinsMatchers } from './matchers.js';

expect.extend(reinsMatchers as never);

interface ReinsMatchers<R = unknown> {
  /** The run ended with this reason (and evidence matching `fields`). */
  toEndWith(reason: TerminalReason, fields?: Record<string, unknown>): R;
  /** The tool was called at least once, or exactly `times` logical calls. */
  toHaveCalled(tool: string, times?: number): R;
  /** `first` was first called before `second` was. */
  toHaveCalledBefore(first: string, second: string): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends ReinsMatchers<T> {}
}
