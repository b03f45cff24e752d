import { z } from 'zod';

/** How a loop showed itself: one call repeated, a cycle of calls, or an identical call recurring among others. */
export const LoopPattern = z.enum(['repeat', 'cycle', 'stale-repeat']);
export type LoopPattern = z.infer<typeof LoopPattern>;
