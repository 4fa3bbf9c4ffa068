// Head sampling for an edge service (docs/decisions/0007-hostile-input-and-limits.md). The
// standard OTEL_TRACES_SAMPLER names and ratio, with one change by default: a remote parent's
// sampled flag is not obeyed, either way. Any client can send `traceparent: …-01`; obeying it
// would let it trace every request at any ratio (and their cost); `…-00` would let it hide its
// requests from the trace store, exemplars and (with LOGS_EXPORT_UNSAMPLED=warn) the log store.
// With TRACES_REMOTE_PARENT_SAMPLED=ratio (the default), both remote-parent delegates of the
// ParentBased sampler are the service's own ratio, drawn at random: the caller's trace id is
// kept, its flag is not. TraceIdRatioBased would not do there, as it decides by the trace id,
// which the caller chooses. `follow` restores the standard behaviour, for a service whose
// callers are trusted (behind a gateway that samples).
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace';
import type { Config } from '../config';

/** Samples `ratio` of the spans it is asked about, by a random draw (not by the trace id). */
export class RandomRatioSampler implements Sampler {
  constructor(
    private readonly ratio: number,
    private readonly random: () => number = Math.random,
  ) {}

  shouldSample(
    _context: Context,
    _traceId: string,
    _name: string,
    _kind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    return {
      decision:
        this.random() < this.ratio
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD,
    };
  }

  toString(): string {
    return `RandomRatioSampler{${this.ratio}}`;
  }
}

export function createSampler(
  config: Config['telemetry']['sampler'],
  random: () => number = Math.random,
): Sampler {
  const { name, ratio, remoteParentSampled } = config;
  const own: Record<string, () => Sampler> = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatioBasedSampler(ratio),
  };
  if (!name.startsWith('parentbased_')) return own[name]!();
  const root = own[name.slice('parentbased_'.length)]!();
  // What "the service's own ratio" is for each root: everything, nothing, or `ratio`.
  const ownShare =
    name === 'parentbased_always_on' ? 1 : name === 'parentbased_always_off' ? 0 : ratio;
  if (remoteParentSampled === 'follow') {
    return new ParentBasedSampler({ root, remoteParentSampled: new AlwaysOnSampler() });
  }
  // Both ways: "sampled" does not force a trace, "not sampled" does not hide one.
  const ownRatio = new RandomRatioSampler(ownShare, random);
  return new ParentBasedSampler({
    root,
    remoteParentSampled: ownRatio,
    remoteParentNotSampled: ownRatio,
  });
}
