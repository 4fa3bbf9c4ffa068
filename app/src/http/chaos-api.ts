// The handlers of /admin/chaos: the active faults listed, a fault set for a while (with a value
// within its bounds and, for the provider's faults, aimed at one caller), one or all cleared.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import {
  CALLER_PATTERN,
  FAULT_NAMES,
  FAULT_VALUES,
  isFaultName,
  MAX_TARGETED_FAULTS,
  MAX_TTL_SECONDS,
  TARGETABLE_FAULTS,
  type ActiveFault,
  type Chaos,
  type FaultName,
} from '../agent/chaos';
import { logger } from '../telemetry/logger';
import { knownPathParam, pathParam } from './middleware';
import { ProblemError } from './problem';
import { parseBody } from './validation';

const chaosBody = z.strictObject({
  value: z.number().optional(),
  ttl_seconds: z.number().positive().max(MAX_TTL_SECONDS),
  // Only this caller of the provider listener (its OpenAI-Project header) gets the fault.
  caller: z.string().regex(CALLER_PATTERN, 'must be 1-64 letters, digits or . _ : -').optional(),
});

function describeFault(fault: ActiveFault, now: number) {
  return {
    fault: fault.fault,
    value: fault.value ?? null,
    caller: fault.caller ?? null,
    expires_at: new Date(fault.expiresAt).toISOString(),
    expires_in_seconds: Math.max(0, Math.round((fault.expiresAt - now) / 100) / 10),
  };
}

/** A fault's `value`: none for faults that take none, else within the fault's bounds. */
function checkValue(fault: FaultName, value: number | undefined): void {
  const bounds = FAULT_VALUES[fault];
  if (bounds === undefined && value !== undefined) {
    throw new ProblemError('validation_error', `The ${fault} fault takes no value.`, {
      errors: [{ pointer: '/value', detail: `${fault} takes no value` }],
    });
  }
  if (bounds !== undefined && (value === undefined || value < bounds.min || value > bounds.max)) {
    throw new ProblemError(
      'validation_error',
      `The ${fault} fault needs a value from ${bounds.min} to ${bounds.max} (${bounds.unit}).`,
      {
        errors: [
          { pointer: '/value', detail: `must be a number from ${bounds.min} to ${bounds.max}` },
        ],
      },
    );
  }
}

/** A fault's `caller`: only for the provider's faults, and within the table's bound. */
function checkCaller(chaos: Chaos, fault: FaultName, caller: string | undefined): void {
  if (caller === undefined) return;
  if (!TARGETABLE_FAULTS.includes(fault)) {
    throw new ProblemError(
      'validation_error',
      `The ${fault} fault cannot target a caller; only ${TARGETABLE_FAULTS.join(' and ')} can.`,
      { errors: [{ pointer: '/caller', detail: `${fault} takes no caller` }] },
    );
  }
  if (!chaos.hasRoomFor(fault, caller)) {
    throw new ProblemError(
      'validation_error',
      `${MAX_TARGETED_FAULTS} targeted faults are set, the most there can be; clear some first.`,
      { errors: [{ pointer: '/caller', detail: 'too many targeted faults' }] },
    );
  }
}

/** The fault a path names; a 404 that lists them for any other. */
export const knownFault: RequestHandler = (req, _res, next) => {
  knownPathParam(req, 'fault', isFaultName, FAULT_NAMES);
  next();
};

/** GET /admin/chaos: the active faults, with when each expires. */
export function listFaults(chaos: Chaos): RequestHandler {
  return (_req, res) => {
    const now = Date.now();
    res.json({ faults: chaos.list().map((fault) => describeFault(fault, now)) });
  };
}

/** PUT /admin/chaos/:fault: sets a fault for `ttl_seconds`, with a value within its bounds and,
 * for the provider's faults, optionally aimed at one caller. */
export function setFault(chaos: Chaos): RequestHandler {
  return (req, res) => {
    const fault = pathParam(req, 'fault') as (typeof FAULT_NAMES)[number];
    const body = parseBody(chaosBody, req.body);
    checkValue(fault, body.value);
    checkCaller(chaos, fault, body.caller);
    const active = chaos.set(fault, body.value, body.ttl_seconds, body.caller);
    logger.warn('chaos: fault set', {
      fault,
      value: body.value,
      ttl_seconds: body.ttl_seconds,
      caller: body.caller,
    });
    res.json(describeFault(active, Date.now()));
  };
}

/** DELETE /admin/chaos: every fault cleared. */
export function clearAllFaults(chaos: Chaos): RequestHandler {
  return (_req, res) => {
    chaos.clearAll();
    logger.warn('chaos: every fault cleared');
    res.status(204).end();
  };
}

/** DELETE /admin/chaos/:fault: that fault cleared, for every caller. */
export function clearFault(chaos: Chaos): RequestHandler {
  return (req, res) => {
    const fault = pathParam(req, 'fault') as (typeof FAULT_NAMES)[number];
    if (chaos.clear(fault)) logger.warn('chaos: fault cleared', { fault });
    res.status(204).end();
  };
}
