/** Builders of AI SDK (LanguageModelV3) results for MockLanguageModelV3, so that tests read as the conversation they script. */
import type { LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult, LanguageModelV3StreamPart, LanguageModelV3Usage } from '@ai-sdk/provider';
import { convertArrayToReadableStream } from 'ai/test';

type Unified = LanguageModelV3GenerateResult['finishReason']['unified'];

/** Usage as a V3 provider reports it. */
export function usage(input: number, output: number, extra: { cacheRead?: number; reasoning?: number } = {}): LanguageModelV3Usage {
  return {
    inputTokens: { total: input, noCache: input - (extra.cacheRead ?? 0), cacheRead: extra.cacheRead, cacheWrite: undefined },
    outputTokens: { total: output, text: output - (extra.reasoning ?? 0), reasoning: extra.reasoning },
  };
}

/** One generate result. */
export function result(content: LanguageModelV3Content[], unified: Unified, raw: string | undefined, u: LanguageModelV3Usage = usage(100, 20)): LanguageModelV3GenerateResult {
  return { content, finishReason: { unified, raw }, usage: u, warnings: [] };
}

export const text = (t: string): LanguageModelV3Content => ({ type: 'text', text: t });
export const call = (toolName: string, input: unknown, toolCallId = `tc-${toolName}`): LanguageModelV3Content => ({
  type: 'tool-call',
  toolCallId,
  toolName,
  input: typeof input === 'string' ? input : JSON.stringify(input),
});

/** A reply with tool calls, finished as a provider reports it. */
export const calls = (...content: LanguageModelV3Content[]) => result(content, 'tool-calls', 'tool_calls');
/** A plain-text reply that stops. */
export const says = (t: string, u?: LanguageModelV3Usage) => result([text(t)], 'stop', 'stop', u);

/** The same result as stream parts (text and tool input streamed in pieces, then the finish part). */
export function streamOf(r: LanguageModelV3GenerateResult, options: { dropToolCallParts?: boolean } = {}) {
  const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  r.content.forEach((c, i) => {
    if (c.type === 'text') {
      parts.push({ type: 'text-start', id: `t${i}` });
      for (const piece of c.text.match(/.{1,5}/gs) ?? []) parts.push({ type: 'text-delta', id: `t${i}`, delta: piece });
      parts.push({ type: 'text-end', id: `t${i}` });
    } else if (c.type === 'tool-call') {
      parts.push({ type: 'tool-input-start', id: c.toolCallId, toolName: c.toolName });
      for (const piece of c.input.match(/.{1,4}/gs) ?? []) parts.push({ type: 'tool-input-delta', id: c.toolCallId, delta: piece });
      if (!options.dropToolCallParts) {
        parts.push({ type: 'tool-input-end', id: c.toolCallId });
        parts.push(c);
      }
    }
  });
  parts.push({ type: 'finish', finishReason: r.finishReason, usage: r.usage });
  return { stream: convertArrayToReadableStream(parts) };
}

/** The text of every message of one recorded call's prompt, role first, for assertions. */
export function promptLines(options: LanguageModelV3CallOptions): string[] {
  return options.prompt.map((m) => {
    if (m.role === 'system') return `system: ${m.content}`;
    const parts = m.content.map((p) => {
      switch (p.type) {
        case 'text':
          return p.text;
        case 'tool-call':
          return `${p.toolName}(${JSON.stringify(p.input)})`;
        case 'tool-result':
          return `${p.toolName} -> ${'value' in p.output ? String(p.output.value) : p.output.type}`;
        default:
          return p.type;
      }
    });
    return `${m.role}: ${parts.join(' | ')}`;
  });
}
