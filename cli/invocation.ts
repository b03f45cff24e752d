/**
 * How a user runs `reins` where this process runs, for hints they can paste:
 * from source (a clone of reins, where `npm run reins --` runs the CLI with
 * tsx) or installed (a project that depends on reins, where `npx reins` runs
 * the built CLI at once).
 */
export function reinsCommand(): string {
  return import.meta.url.endsWith('.ts') ? 'npm run reins --' : 'npx reins';
}
