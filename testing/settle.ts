import { realTurn, type VirtualClock } from './clock.js';

/**
 * Waits until no store operation is in flight and three turns of the real
 * event loop pass with nothing new (no store call, no timer set or fired):
 * only then may virtual time move, so a timer never overtakes work that
 * would have finished first in real time.
 */
export async function settle(clock: VirtualClock | null, inFlight: () => number, activity: () => number): Promise<void> {
  let quiet = 0;
  while (quiet < 3) {
    const mark = activity() + (clock?.activity ?? 0);
    await realTurn();
    quiet = inFlight() === 0 && mark === activity() + (clock?.activity ?? 0) ? quiet + 1 : 0;
  }
}
