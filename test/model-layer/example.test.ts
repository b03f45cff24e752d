/** The real-model example, run the way a user without a provider key runs it: on the scripted model, with the same tools. */
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/real-model/index.js';
import { chooseModel } from '../../examples/real-model/model.js';

const quiet = () => undefined;

describe('examples/real-model', () => {
  it('without a provider key, runs on the scripted model: looks the order up, tracks it, answers', async () => {
    const lines: string[] = [];
    const outcome = await main('Where is my order 1042?', {}, (l) => lines.push(l));
    expect(outcome).toMatchObject({ reason: 'COMPLETED', result: 'Order 1042 is with ParcelCo: last scan Leipzig hub, 06:40, expected tomorrow before 12:00.', turns: 3 });
    expect(lines[0]).toBe('model: the scripted model (set OPENAI_API_KEY to use a real one)');
    expect(lines.some((l) => l.includes('acting (track_shipment)'))).toBe(true);
  });

  it('ends INFEASIBLE for a request the desk cannot serve', async () => {
    expect((await main('I want to return my grinder.', {}, quiet)).reason).toBe('INFEASIBLE');
    expect((await main('Where is my order 9999?', {}, quiet)).reason).toBe('INFEASIBLE');
  });

  it('picks a real provider from the environment (no call is made until the run starts)', async () => {
    const openai = await chooseModel({ OPENAI_API_KEY: 'sk-test' });
    expect(openai).toMatchObject({ real: true, describe: 'OpenAI gpt-4o-mini' });
    expect(openai.model.id).toBe('gpt-4o-mini');
    expect(openai.model.reservedTools?.map((t) => t.name)).toEqual(['reins_give_up', 'reins_escalate']);
    const local = await chooseModel({ OPENAI_BASE_URL: 'http://localhost:11434/v1', REINS_MODEL: 'llama3.1' });
    expect(local).toMatchObject({ real: true, describe: 'llama3.1 at http://localhost:11434/v1' });
    await expect(chooseModel({ OPENAI_BASE_URL: 'http://localhost:11434/v1' })).rejects.toThrow(/REINS_MODEL/);
  });
});
