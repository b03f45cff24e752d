import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotation, END, MemorySaver, START, StateGraph, type BaseCheckpointSaver } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import type { Message, ToolCall } from '../../machines/model-types.js';
import type { Model } from '../../agents/model.js';
import { clockedModel, echo, echoSchema, GOAL, type CurrentClock, type TurnClock } from '../workload.js';
import { elapsed, type Contender, type RunResult } from '../contenders/contender.js';

/**
 * The bench agent in LangGraph JS: a StateGraph with a model node and a tool
 * node and a conditional edge between them, the same scripted model and echo
 * tool as every other row. The state is reins' own plain message objects in
 * an appending channel (no LangChain message classes to convert), the lean
 * way to write it; checkpointers are LangGraph's defaults (durability
 * "async", full channel values per checkpoint).
 */
const AgentState = Annotation.Root({
  messages: Annotation<Message[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  pending: Annotation<ToolCall[]>({ reducer: (_a, b) => b, default: () => [] }),
  result: Annotation<unknown>({ reducer: (_a, b) => b, default: () => null }),
  step: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
});
type State = typeof AgentState.State;

function buildGraph(model: Model, checkpointer: BaseCheckpointSaver | undefined) {
  return new StateGraph(AgentState)
    .addNode('model', async (state: State, config) => {
      const runId = String(config.configurable?.thread_id ?? 'lg');
      const step = state.step + 1;
      const signal = config.signal ?? new AbortController().signal;
      const response = await model.generate({ runId, system: '', messages: state.messages, tools: [echoSchema], signal, idempotencyKey: `${runId}:${step}:1` });
      if (response.type === 'tool_calls') {
        return { step, pending: response.calls, messages: [{ role: 'assistant' as const, content: response.text, toolCalls: response.calls }] };
      }
      return { step, pending: [], result: response.type === 'answer' ? response.result : response.type };
    })
    .addNode('tools', async (state: State, config) => {
      const runId = String(config.configurable?.thread_id ?? 'lg');
      const signal = config.signal ?? new AbortController().signal;
      const out: Message[] = [];
      for (const call of state.pending) {
        const value = await echo.run(JSON.parse(call.arguments), { runId, idempotencyKey: `${runId}:${state.step}`, step: state.step, attempt: 1, deadline: Infinity, signal });
        out.push({ role: 'tool', callId: call.id, tool: call.name, content: JSON.stringify(value), isError: false });
      }
      return { messages: out, pending: [] };
    })
    .addEdge(START, 'model')
    .addConditionalEdges('model', (state: State) => (state.pending.length > 0 ? 'tools' : END), ['tools', END])
    .addEdge('tools', 'model')
    .compile(checkpointer ? { checkpointer } : {});
}

/** How a LangGraph row gets its checkpointer for each run, and cleans up after it. */
interface SaverKit {
  readonly id: string;
  readonly label: string;
  perRun(): Promise<{ saver: BaseCheckpointSaver | undefined; done(): Promise<void> }>;
  /**
   * Called when the cap passes. With LangGraph's async durability the graph
   * can finish its steps long before its queued checkpoint writes do; a kit
   * whose writes run outside the event loop's control (Postgres) fails the
   * write in flight, which drops the rest of LangGraph's write chain.
   */
  onCap?(): void;
  close(): Promise<void>;
}

function langGraphContender(kit: SaverKit, board: CurrentClock): Contender {
  let turns = 0;
  const model = clockedModel(() => turns, board);
  let seq = 0;
  return {
    id: kit.id,
    label: kit.label,
    kind: 'langgraph',
    async run(n: number, clock: TurnClock, deadline?: number): Promise<RunResult> {
      turns = n;
      board.current = clock;
      const { saver, done } = await kit.perRun();
      const threadId = `${kit.id}-${process.pid}-${++seq}`;
      const abort = new AbortController();
      const signal = deadline === undefined ? undefined : abort.signal;
      let capped = false;
      const cap = () => {
        if (capped) return;
        capped = true;
        abort.abort(new Error('time cap'));
        kit.onCap?.();
      };
      clock.deadline = deadline;
      clock.onDeadline = cap;
      // The clock checks the cap at model calls; the timer catches a run whose model calls are over but whose checkpoint writes are not.
      const timer = deadline === undefined ? undefined : setTimeout(cap, Math.max(1, Math.ceil(deadline - performance.now())));
      const t0 = performance.now();
      try {
        const graph = buildGraph(model, saver);
        const final = await graph.invoke(
          { messages: [{ role: 'user', content: GOAL }] },
          { configurable: { thread_id: threadId }, recursionLimit: 2 * n + 10, ...(signal ? { signal } : {}) },
        );
        const ms = elapsed(t0, clock);
        const toolTurns = final.messages.filter((m) => m.role === 'tool').length;
        return { ms, turns: toolTurns, completed: final.result === 'done' && toolTurns === n };
      } catch (error) {
        const ms = elapsed(t0, clock);
        const reached = Math.max(0, clock.count - 1);
        const why = capped
          ? `stopped by the time cap after ${reached} of ${n} turns${reached >= n ? ' (all model calls made; its queued checkpoint writes were not done)' : ''}`
          : `failed after ${reached} turns: ${(error as Error).message}`;
        return { ms, turns: reached, completed: false, note: why };
      } finally {
        clearTimeout(timer);
        await done();
      }
    },
    close: () => kit.close(),
  };
}

/** The installed LangGraph version (for the report). */
export function langGraphVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('./node_modules/@langchain/langgraph/package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** LangGraph with no checkpointer. */
export function noSaver(board: CurrentClock): Contender {
  return langGraphContender(
    { id: 'lg-none', label: 'LangGraph, no checkpointer', perRun: async () => ({ saver: undefined, done: async () => {} }), close: async () => {} },
    board,
  );
}

/** LangGraph + MemorySaver (a fresh one per run). */
export function memorySaver(board: CurrentClock): Contender {
  return langGraphContender(
    { id: 'lg-memory', label: 'LangGraph + MemorySaver', perRun: async () => ({ saver: new MemorySaver(), done: async () => {} }), close: async () => {} },
    board,
  );
}

/** LangGraph + SqliteSaver on a database file in the temp dir (better-sqlite3; the saver sets WAL mode), a fresh file per run. */
export async function sqliteSaver(board: CurrentClock): Promise<Contender> {
  const dir = await mkdtemp(join(tmpdir(), 'reins-bench-sqlite-'));
  let n = 0;
  return langGraphContender(
    {
      id: 'lg-sqlite',
      label: 'LangGraph + SqliteSaver',
      perRun: async () => {
        const file = join(dir, `run-${++n}.db`);
        const saver = SqliteSaver.fromConnString(file);
        return {
          saver,
          done: async () => {
            saver.db.close();
            await rm(file, { force: true });
            await rm(`${file}-wal`, { force: true });
            await rm(`${file}-shm`, { force: true });
          },
        };
      },
      close: () => rm(dir, { recursive: true, force: true }),
    },
    board,
  );
}

/** LangGraph + PostgresSaver on `url` (tables made by its setup(), emptied after each run, untimed). */
export async function postgresSaver(board: CurrentClock, url: string): Promise<Contender> {
  const APP = 'reins-bench-langgraph';
  const pool = new pg.Pool({ connectionString: url, application_name: APP });
  // A client whose connection drops, idle in the pool or checked out by the saver, must not crash the bench.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => void client.on('error', () => undefined));
  let canceller: NodeJS.Timeout | undefined;
  const saver = new PostgresSaver(pool);
  await saver.setup();
  /** Empties the saver's tables once its writes have settled (a capped run can leave some in flight); retried on a lock conflict. */
  const empty = async () => {
    for (let attempt = 1; ; attempt++) {
      for (let waited = 0; waited < 10_000 && pool.idleCount < pool.totalCount; waited += 50) await new Promise((r) => setTimeout(r, 50));
      try {
        await pool.query('TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes');
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  await empty();
  return langGraphContender(
    {
      id: 'lg-postgres',
      label: 'LangGraph + PostgresSaver',
      perRun: async () => ({
        saver,
        done: async () => {
          clearInterval(canceller);
          canceller = undefined;
          await empty();
        },
      }),
      onCap: () => {
        // Cancel the saver's statement in flight (again every 250 ms until the run ends): the failed write drops the rest of LangGraph's chain.
        const admin = new pg.Client({ connectionString: url });
        admin.on('error', () => undefined);
        const ready = admin.connect().catch(() => undefined);
        const cancel = () =>
          void ready.then(() => admin.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND pid <> pg_backend_pid()", [APP])).catch(() => undefined);
        cancel();
        canceller = setInterval(cancel, 250);
        const stop = canceller;
        // The admin connection closes with the canceller.
        const closer = setInterval(() => {
          if (canceller !== stop) {
            clearInterval(closer);
            void admin.end().catch(() => undefined);
          }
        }, 250);
      },
      close: () => saver.end(),
    },
    board,
  );
}
