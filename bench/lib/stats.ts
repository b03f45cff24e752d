/** The median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The p-th percentile (nearest rank on sorted finite values; NaN when empty). */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  const v = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  if (p <= 0) return v[0]!;
  if (p >= 100) return v[v.length - 1]!;
  // The median of an even count is the mean of the middle two; other percentiles take the nearest rank.
  if (p === 50 && v.length % 2 === 0) return (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]!;
}

/** Relative spread of repeats: (max - min) / median, as a hint of how noisy a figure is. */
export function spread(values: readonly number[]): number {
  const v = values.filter(Number.isFinite);
  if (v.length < 2) return 0;
  return (Math.max(...v) - Math.min(...v)) / median(v);
}
