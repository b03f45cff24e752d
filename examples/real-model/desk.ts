import { z } from 'zod';
import { tool } from '../../index.js';

/** A tiny order desk: the same data for the real and the scripted model, so the two runs are comparable. */
const ORDERS: Readonly<Record<string, { item: string; status: 'processing' | 'shipped' | 'delivered'; trackingId: string | null }>> = {
  '1042': { item: 'espresso machine', status: 'shipped', trackingId: 'TRK-88231' },
  '1043': { item: 'grinder', status: 'processing', trackingId: null },
  '1044': { item: 'kettle', status: 'delivered', trackingId: 'TRK-88102' },
};

const SHIPMENTS: Readonly<Record<string, { carrier: string; lastScan: string; eta: string }>> = {
  'TRK-88231': { carrier: 'ParcelCo', lastScan: 'Leipzig hub, 06:40', eta: 'tomorrow before 12:00' },
  'TRK-88102': { carrier: 'ParcelCo', lastScan: 'delivered to the front desk', eta: 'delivered' },
};

export const lookupOrder = tool({
  name: 'lookup_order',
  description: 'The item, status and tracking id of an order, by its number (e.g. "1042").',
  input: z.object({ orderId: z.string().regex(/^\d{4}$/, 'order numbers have four digits') }),
  sideEffect: 'none',
  timeoutMs: 5_000,
  run: ({ orderId }) => ORDERS[orderId] ?? { error: `no order ${orderId}` },
});

export const trackShipment = tool({
  name: 'track_shipment',
  description: 'Carrier, last scan and expected delivery of a shipment, by tracking id (e.g. "TRK-88231").',
  input: z.object({ trackingId: z.string().startsWith('TRK-') }),
  sideEffect: 'none',
  timeoutMs: 5_000,
  retry: { maxAttempts: 3, baseDelayMs: 200 },
  run: ({ trackingId }) => SHIPMENTS[trackingId] ?? { error: `no shipment ${trackingId}` },
});

export const DESK_TOOLS = [lookupOrder, trackShipment];
