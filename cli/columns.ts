import { cut } from './render.js';

/** One column of a table that fits the terminal. */
export interface Column {
  readonly head: string;
  /** Plain text, one per row (styled after padding, so that colour codes never count as width). */
  readonly cells: readonly string[];
  /** Which columns go first when the table is too wide: the lowest `keep` is dropped first. */
  readonly keep: number;
  readonly align?: 'left' | 'right';
  /** The narrowest this column is cut to before any column is dropped for it (default: never cut). */
  readonly minWidth?: number;
  /** Colours a padded cell. */
  readonly style?: (padded: string, row: number) => string;
}

const GAP = 2;

/** The widths the columns take, after dropping (lowest `keep` first) and cutting (down to `minWidth`) to fit `width`. */
function layout(columns: readonly Column[], width: number | null): Array<{ column: Column; width: number }> {
  let shown = columns.map((column) => ({ column, width: Math.max(column.head.length, ...column.cells.map((c) => c.length)) }));
  const total = () => shown.reduce((sum, c) => sum + c.width, 0) + GAP * (shown.length - 1);
  if (width === null) return shown;
  for (const c of [...shown].sort((a, b) => a.column.keep - b.column.keep)) {
    if (total() <= width) break;
    if (c.column.minWidth !== undefined) c.width = Math.max(c.column.minWidth, c.width - (total() - width));
  }
  while (total() > width && shown.length > 1) {
    const lowest = shown.reduce((a, b) => (b.column.keep < a.column.keep ? b : a));
    shown = shown.filter((c) => c !== lowest);
  }
  return shown;
}

/** A table as lines no wider than `width` (null: as wide as its content), the header first. */
export function fitTable(columns: readonly Column[], width: number | null, styleHead: (line: string) => string = (l) => l): string[] {
  const shown = layout(columns, width);
  const cell = (text: string, c: { column: Column; width: number }) =>
    text.length > c.width ? cut(text, c.width) : c.column.align === 'right' ? text.padStart(c.width) : text.padEnd(c.width);
  const rows = shown[0]?.column.cells.length ?? 0;
  const lines = [styleHead(shown.map((c) => cell(c.column.head, c)).join(' '.repeat(GAP)).trimEnd())];
  for (let row = 0; row < rows; row++) {
    const parts = shown.map((c) => {
      const padded = cell(c.column.cells[row]!, c);
      return c.column.style ? c.column.style(padded, row) : padded;
    });
    lines.push(parts.join(' '.repeat(GAP)).trimEnd());
  }
  return lines;
}

/** The width tables are fitted to: the terminal's, else COLUMNS, else none (a pipe gets whole lines). */
export function outputWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number | null {
  if (stream.isTTY && stream.columns) return stream.columns;
  const fromEnv = Number(env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : null;
}
