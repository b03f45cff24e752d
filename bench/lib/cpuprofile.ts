import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` and the inspector write) that a summary reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the profile. */
export interface ProfileRow {
  readonly fn: string;
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

/** Self time per function and per area (reins file, package, node internals), from a profile. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly functions: ProfileRow[];
  readonly areas: ProfileRow[];
  /** Time charged to the innermost reins function on the stack (library and native time below it included): where in reins it goes. */
  readonly reins: ProfileRow[];
}

/** Reads a .cpuprofile file. */
export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/** Where a frame lives, short: `agents/supervisor.ts:120`, `xstate`, `node:internal/…`, or a V8 pseudo-frame. */
function place(url: string, line: number, root: string): { file: string; area: string } {
  if (url === '') return { file: '(native)', area: '(native)' };
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return { file: `${pkg}/${rest.slice(pkg.split('/').length).join('/')}:${line + 1}`, area: pkg };
  }
  if (path.startsWith('node:')) return { file: `${path}:${line + 1}`, area: 'node internals' };
  path = relative(root, path);
  // tsx-transpiled sources: V8's positions are not the .ts lines, so name the file only.
  return { file: path.endsWith('.ts') ? path : `${path}:${line + 1}`, area: path };
}

/** Self time per function (top `top`) and per area, over the samples of the profile. */
export function summarise(profile: CpuProfile, root: string, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const name = f.functionName || '(anonymous)';
    const { file, area } = place(f.url, f.lineNumber, root);
    const key = `${name}@${file}`;
    const row = fns.get(key) ?? { fn: name, where: file, us: 0 };
    row.us += us;
    fns.set(key, row);
    const areaKey = f.url === '' ? name : area;
    areas.set(areaKey, (areas.get(areaKey) ?? 0) + us);
  }
  // Charge each sample to the innermost frame in reins' own sources (not node_modules, not the bench).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const isReins = (url: string) => {
    if (!url.startsWith('file://') || url.includes('/node_modules/')) return false;
    const rel = relative(root, decodeURIComponent(url.slice('file://'.length)));
    return !rel.startsWith('..') && !rel.startsWith('bench/');
  };
  const outsideOf = (leaf: number): string => {
    for (let n: number | undefined = leaf; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)!.callFrame;
      if (f.url.includes('/node_modules/')) return place(f.url, f.lineNumber, root).area;
      if (f.url.startsWith('file://')) return relative(root, decodeURIComponent(f.url.slice('file://'.length)));
    }
    const f = byId.get(leaf)!.callFrame;
    return f.functionName || '(native)';
  };
  const owners = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let n: number | undefined = id;
    // No reins frame on the stack: name the first package on it (xstate settling a promise actor, ioredis parsing a reply), else the leaf (idle, GC).
    let key = `no reins frame: ${outsideOf(id)}`;
    while (n !== undefined) {
      const f = byId.get(n)!.callFrame;
      if (isReins(f.url)) {
        key = `${f.functionName || '(anonymous)'}@${place(f.url, f.lineNumber, root).file.replace(/:\d+$/, '')}`;
        break;
      }
      n = parent.get(n);
    }
    owners.set(key, (owners.get(key) ?? 0) + us);
  }
  const pct = (us: number) => (total > 0 ? (100 * us) / total : 0);
  return {
    totalMs: total / 1000,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((r) => ({ fn: r.fn, where: r.where, selfMs: r.us / 1000, selfPct: pct(r.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ fn: '', where, selfMs: us / 1000, selfPct: pct(us) })),
    reins: [...owners.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => {
        const at = key.lastIndexOf('@');
        return at > 0 ? { fn: key.slice(0, at), where: key.slice(at + 1), selfMs: us / 1000, selfPct: pct(us) } : { fn: key, where: '', selfMs: us / 1000, selfPct: pct(us) };
      }),
  };
}

/** The summary as text lines. */
export function formatSummary(title: string, s: ProfileSummary): string {
  const lines = [`${title}: ${s.totalMs.toFixed(0)} ms sampled`, '  top self time, by function:'];
  for (const r of s.functions) lines.push(`    ${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.fn}  ${r.where}`);
  lines.push('  self time, by file / package:');
  for (const r of s.areas) lines.push(`    ${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.where}`);
  lines.push('  time by the innermost reins function on the stack (the libraries it calls included):');
  for (const r of s.reins) lines.push(`    ${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.fn}  ${r.where}`);
  return lines.join('\n');
}
