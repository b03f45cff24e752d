import type { Message, ToolSchema } from '../model.js';
import type { SpecFunctionTool, SpecMessage, SpecToolCallPart, SpecToolResultPart } from './spec.js';

/** Arguments as the prompt carries them back: the object the model sent, or {} when it sent something else (the tool result already told it). */
function argumentsValue(raw: string): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/**
 * reins' transcript as a specification prompt: the system prompt first,
 * assistant turns with their tool calls, and the results of one turn in one
 * tool message (providers want every result of a turn together).
 */
export function toPrompt(system: string, messages: readonly Message[]): SpecMessage[] {
  const prompt: SpecMessage[] = system ? [{ role: 'system', content: system }] : [];
  for (const m of messages) {
    switch (m.role) {
      case 'user':
        prompt.push({ role: 'user', content: [{ type: 'text', text: m.content }] });
        break;
      case 'assistant': {
        const calls: SpecToolCallPart[] = m.toolCalls.map((c) => ({ type: 'tool-call', toolCallId: c.id, toolName: c.name, input: argumentsValue(c.arguments) }));
        prompt.push({ role: 'assistant', content: [...(m.content ? [{ type: 'text' as const, text: m.content }] : []), ...calls] });
        break;
      }
      case 'tool': {
        const part: SpecToolResultPart = {
          type: 'tool-result',
          toolCallId: m.callId,
          toolName: m.tool,
          output: m.isError ? { type: 'error-text', value: m.content } : { type: 'text', value: m.content },
        };
        const last = prompt.at(-1);
        if (last?.role === 'tool') last.content.push(part);
        else prompt.push({ role: 'tool', content: [part] });
        break;
      }
    }
  }
  return prompt;
}

/** Tool schemas as function tools; the JSON Schema dialect key is dropped (some providers refuse it). */
export function toFunctionTools(tools: readonly ToolSchema[]): SpecFunctionTool[] {
  return tools.map((t) => {
    const { $schema: _dialect, ...inputSchema } = t.inputSchema;
    return { type: 'function', name: t.name, description: t.description, inputSchema };
  });
}
