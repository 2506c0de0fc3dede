import { from, map, merge, Subject } from 'rxjs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { InvariantError } from '../../../src/errors.js';
import { METRIC, Metrics } from '../../../src/metrics.js';
import type { Consensus, Features, Flow, Vote } from '../../../src/model/index.js';
import { ConsensusSchema } from '../../../src/model/index.js';
import { consensusOperator, consensusParams, voteConsensus } from '../../../src/operators/voting/voteConsensus.js';
import { candle, consensus, features, gap, MINUTE, status, T0, vote, voteSummary } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { marbles } from '../../support/marbles.js';

const voters = ['trend', 'momentum', 'mean-reversion'];
const MISSING = 'no vote for this bar: counted as an abstention';

function bar(index: number, overrides: { symbol?: string; closed?: boolean } = {}): Features {
  return features({ atr14: 2 }, { candle: candle({ openTime: T0 + index * MINUTE, ...overrides }) });
}

const f0 = bar(0);
const f1 = bar(1);

// Bar 0: everybody long. Bar 1: long, short, abstain.
const t0 = vote({ voter: 'trend', features: f0, direction: 'long', confidence: 0.5, reasons: ['trend up'] });
const m0 = vote({ voter: 'momentum', features: f0, direction: 'long', confidence: 0.75, reasons: ['push up'] });
const r0 = vote({ voter: 'mean-reversion', features: f0, direction: 'long', confidence: 1, reasons: ['stretched down'] });
const t1 = vote({ voter: 'trend', features: f1, direction: 'long', confidence: 1, reasons: ['trend up'] });
const m1 = vote({ voter: 'momentum', features: f1, direction: 'short', confidence: 1, reasons: ['push down'] });
const r1 = vote({ voter: 'mean-reversion', features: f1, direction: 'neutral', confidence: 0, reasons: ['not stretched'] });

function summary(v: Vote, weight = 1): ReturnType<typeof voteSummary> {
  return voteSummary({ voter: v.voter, direction: v.direction, confidence: v.confidence, weight, reasons: v.reasons });
}

function missing(voter: string): ReturnType<typeof voteSummary> {
  return voteSummary({ voter, direction: 'neutral', confidence: 0, weight: 1, reasons: [MISSING] });
}

// Hand-derived: (0.5 + 0.75 + 1) / 3 = 0.75, all of the weight agrees.
const X = consensus({
  features: f0,
  direction: 'long',
  confidence: 0.75,
  agreement: 1,
  agreeing: 3,
  quorum: 3,
  reason: '3 of 3 voters long (quorum 3), agreement 1.00',
  votes: [summary(t0), summary(m0), summary(r0)],
});
// One long and one short of equal weight: no leading direction.
const Y = consensus({
  features: f1,
  direction: 'neutral',
  confidence: 0,
  agreement: 0,
  agreeing: 0,
  quorum: 3,
  reason: 'long and short tied (1 long, 1 short)',
  votes: [summary(t1), summary(m1), summary(r1)],
});
// Bar 0 without the mean-reversion vote: 2 of 3 long, quorum 3 not met.
const X2 = consensus({
  features: f0,
  direction: 'neutral',
  confidence: 0,
  agreement: 2 / 3,
  agreeing: 2,
  quorum: 3,
  reason: '2 of 3 voters long (quorum 3 not met), agreement 0.67; no vote from mean-reversion (counted as an abstention)',
  votes: [summary(t0), summary(m0), missing('mean-reversion')],
});

describe('voteConsensus', () => {
  it(
    'does emit one consensus per bar as soon as every voter has voted',
    marbles((m) => {
      const votes$ = m.cold('  (abc)-(def)-|', { a: t0, b: m0, c: r0, d: t1, e: m1, f: r1 });
      const expected = '      X-----Y-----|';
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable(expected, { X, Y });
    }),
  );

  it(
    'does what its documented marble diagram shows',
    marbles((m) => {
      const votes$ = m.cold('  --(abc)----(de)---|', { a: t0, b: m0, c: r0, d: t1, e: m1 });
      const expected = '      --X---------------(Y|)';
      const silent = consensus({
        ...Y,
        reason: 'long and short tied (1 long, 1 short); no vote from mean-reversion (counted as an abstention)',
        votes: [summary(t1), summary(m1), missing('mean-reversion')],
      });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable(expected, { X, Y: silent });
    }),
  );

  it(
    'does decide a bar with a missing voter when a later bar of the series starts',
    marbles((m) => {
      const votes$ = m.cold('  a-b-d-e-f-|', { a: t0, b: m0, d: t1, e: m1, f: r1 });
      const expected = '      ----X---Y-|';
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable(expected, { X: X2, Y });
    }),
  );

  it(
    'does decide open bars on completion, the missing voters counted as abstentions',
    marbles((m) => {
      const votes$ = m.cold('  a-b-|', { a: t0, b: m0 });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable('----(X|)', { X: X2 });
    }),
  );

  it(
    'does group votes by venue, symbol and interval',
    marbles((m) => {
      const eth = bar(0, { symbol: 'ETH-USDT' });
      const et = vote({ ...t0, symbol: 'ETH-USDT', features: eth });
      const em = vote({ ...m0, symbol: 'ETH-USDT', features: eth });
      const er = vote({ ...r0, symbol: 'ETH-USDT', features: eth });
      const E = consensus({ ...X, symbol: 'ETH-USDT', features: eth, votes: [summary(et), summary(em), summary(er)] });
      const votes$ = m.cold('  a-x-b-y-c-z-|', { a: t0, b: m0, c: r0, x: et, y: em, z: er });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable('--------X-E-|', { X, E });
    }),
  );

  it(
    'does weigh voters and apply quorum and minAgreement',
    marbles((m) => {
      // Weights 2, 1, 1: long 2 + 1 = 3 of 4, short 1 of 4; confidence (2 * 1 + 1 * 1) / 3 = 1.
      const votes$ = m.cold('  (def|)', { d: t1, e: vote({ ...m1, direction: 'long' }), f: vote({ ...r1, direction: 'short', confidence: 1 }) });
      const weighted = consensus({
        features: f1,
        direction: 'long',
        confidence: 1,
        agreement: 0.75,
        agreeing: 2,
        quorum: 2,
        reason: '2 of 3 voters long (quorum 2), agreement 0.75',
        votes: [summary(t1, 2), summary(vote({ ...m1, direction: 'long' })), summary(vote({ ...r1, direction: 'short', confidence: 1 }))],
      });
      const operator = voteConsensus({ voters, weights: { trend: 2 }, quorum: 2 });
      m.expect(votes$.pipe(operator)).toBeObservable('(W|)', { W: weighted });
      const strict = voteConsensus({ voters, weights: { trend: 2 }, quorum: 2, minAgreement: 0.8 });
      const rejected = consensus({ ...weighted, direction: 'neutral', confidence: 0, reason: '2 of 3 voters long (quorum 2), agreement 0.75 below 0.80' });
      m.expect(votes$.pipe(strict)).toBeObservable('(R|)', { R: rejected });
    }),
  );

  it(
    'does forward each distinct control event once, in order',
    marbles((m) => {
      const g = gap();
      const twin = gap();
      const t = status();
      // Three voters forward the same gap object; `twin` is an equal but distinct event.
      const votes$ = m.cold('  g-a-g-b-g-t-t-c-h-|', { g, t, h: twin, a: t0, b: m0, c: r0 });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable('g---------t---X-h-|', { g, t, X, h: twin });
    }),
  );

  it('does count and drop a vote for a bar already decided, and a second vote of a voter for the same bar', () => {
    const metrics = new Metrics();
    const counter = metrics.counter(METRIC.skipped, 'skipped');
    const late = counter.bind({ reason: 'late-vote' });
    const duplicate = counter.bind({ reason: 'duplicate-vote' });
    const out: Flow<Consensus>[] = [];
    from([t0, t0, m0, r0, r0, t1, m0])
      .pipe(voteConsensus({ voters, lateVotes: late, duplicateVotes: duplicate }))
      .subscribe((value) => out.push(value));
    expect(late.value, 'r0 after bar 0 was decided, m0 after bar 1 opened').toBe(2);
    expect(duplicate.value, 't0 twice').toBe(1);
    expect(out.map((record) => (record.type === 'consensus' ? record.reason : record.type))).toStrictEqual([
      X.reason,
      '1 of 3 voters long (quorum 3 not met), agreement 0.33 below 0.50; no vote from momentum, mean-reversion (counted as abstentions)',
    ]);
  });

  it(
    'does ignore votes on forming bars',
    marbles((m) => {
      const forming = bar(0, { closed: false });
      const early = vote({ ...t0, direction: 'short', features: forming });
      const votes$ = m.cold('  x-a-b-c-|', { x: early, a: t0, b: m0, c: r0 });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable('------X-|', { X });
    }),
  );

  it(
    'does error with a clear message on a vote from an unknown voter',
    marbles((m) => {
      const stranger = vote({ ...t0, voter: 'sentiment' });
      const votes$ = m.cold('  a-s-|', { a: t0, s: stranger });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable(
        '--#',
        undefined,
        new InvariantError(
          `voteConsensus received a vote from "sentiment", which is not one of its voters "trend", "momentum", "mean-reversion" (on binance BTC-USDT 1m bar ${new Date(T0).toISOString()}); list it in params.weights or in the node's from`,
        ),
      );
    }),
  );

  it(
    'does propagate an upstream error',
    marbles((m) => {
      const votes$ = m.cold('  (abc)-#', { a: t0, b: m0, c: r0 });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable('X-----#', { X });
    }),
  );

  it(
    'does complete on empty and stay silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(voteConsensus({ voters }))).toBeObservable('|');
      m.expect(m.cold('-').pipe(voteConsensus({ voters }))).toBeObservable('-');
    }),
  );

  it(
    'does unsubscribe from its source when the subscriber leaves early, without flushing',
    marbles((m) => {
      const votes$ = m.hot('  a-b-c-|', { a: t0, b: m0, c: r0 });
      const unsub = '         ---!';
      m.expect(votes$.pipe(voteConsensus({ voters })), unsub).toBeObservable('----');
      m.expect(votes$).toHaveSubscriptions('^--!');
    }),
  );

  it(
    'does keep state per subscription: two concurrent subscriptions decide the same bars',
    marbles((m) => {
      const g = gap();
      const votes$ = m.hot('  g-a-g-b-c-d-e-f-|', { g, a: t0, b: m0, c: r0, d: t1, e: m1, f: r1 });
      const operator = voteConsensus({ voters });
      const expected = '      g-------X-----Y-|';
      m.expect(votes$.pipe(operator)).toBeObservable(expected, { g, X, Y });
      m.expect(votes$.pipe(operator)).toBeObservable(expected, { g, X, Y });
    }),
  );

  it(
    'does error with a clear message on a record of the wrong type',
    marbles((m) => {
      const votes$ = m.cold('  a-f-|', { a: t0, f: f0 as never });
      m.expect(votes$.pipe(voteConsensus({ voters }))).toBeObservable(
        '--#',
        undefined,
        new InvariantError('voteConsensus received a "features" record; it takes "vote" records (filter the stream first)'),
      );
    }),
  );

  it('does emit frozen records that satisfy the consensus schema', () => {
    const out: Flow<Consensus>[] = [];
    from([t0, m0, r0, t1, m1]).pipe(voteConsensus({ voters })).subscribe((value) => out.push(value));
    expect(out).toHaveLength(2);
    for (const record of out) {
      expect(ConsensusSchema.safeParse(record).success, 'the consensus matches the schema').toBe(true);
      expect(Object.isFrozen(record), 'emitted records are immutable').toBe(true);
    }
  });

  it('does work on voters merged from one hot features stream, as a pipeline runs them', () => {
    const features$ = new Subject<Features>();
    const toVote = (name: string) => map((basis: Features) => vote({ voter: name, direction: 'long', confidence: 1, features: basis }));
    const out: Flow<Consensus>[] = [];
    merge(features$.pipe(toVote('trend')), features$.pipe(toVote('momentum')), features$.pipe(toVote('mean-reversion')))
      .pipe(voteConsensus({ voters }))
      .subscribe((value) => out.push(value));
    features$.next(f0);
    features$.next(f1);
    features$.complete();
    expect(out.map((record) => (record.type === 'consensus' ? [record.openTime, record.direction, record.agreeing] : []))).toStrictEqual([
      [T0, 'long', 3],
      [T0 + MINUTE, 'long', 3],
    ]);
  });

  it.each([
    { options: { voters: [] }, message: 'voteConsensus needs at least one voter' },
    { options: { voters: ['a', 'a'] }, message: 'voteConsensus: voter "a" is listed twice' },
    { options: { voters: ['a', 'b'] }, message: 'voteConsensus: quorum "3" is more than the 2 voters (a, b): it could never be met' },
    { options: { voters: ['a'], quorum: 1, weights: { b: 1 } }, message: 'voteConsensus: weight for "b", which is not one of the voters "a"' },
    { options: { voters: ['a'], quorum: 1, weights: { a: 0 } }, message: 'voteConsensus: weight "0" of "a" must be a positive number' },
    { options: { voters: ['a'], quorum: 1, minAgreement: 2 }, message: 'voteConsensus: minAgreement "2" must be in [0, 1]' },
  ])('does reject bad options where the pipeline is built: $message', ({ options, message }) => {
    expect(() => voteConsensus(options)).toThrow(message);
  });
});

describe('consensusOperator', () => {
  const quiet = (inputs: readonly string[]) => createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), inputs, node: 'consensus' });

  it('does report a quorum that could never be met', () => {
    expect(consensusOperator.check?.(consensusParams.parse({}), [{ type: 'vote' }, { type: 'vote' }])).toStrictEqual([
      { path: 'params.quorum', message: 'Quorum "3" is more than the 2 upstream voter nodes: it could never be met' },
    ]);
    expect(consensusOperator.check?.(consensusParams.parse({ weights: { a: 1, b: 2 } }), [{ type: 'vote' }, { type: 'vote' }, { type: 'vote' }])).toStrictEqual([
      { path: 'params.quorum', message: 'Quorum "3" is more than the 2 voters in params.weights: it could never be met' },
    ]);
    expect(consensusOperator.check?.(consensusParams.parse({ quorum: 2 }), [{ type: 'vote' }, { type: 'vote' }]), 'quorum 2 of 2 is fine').toStrictEqual([]);
  });

  it('does reject empty weights', () => {
    expect(consensusParams.safeParse({ weights: {} }).success).toBe(false);
  });

  it('does expect its upstream node ids as voters, or the weights keys when given', () => {
    const run = (params: unknown, inputs: readonly string[], votes: readonly Vote[]): Flow<Consensus>[] => {
      const out: Flow<Consensus>[] = [];
      from(votes).pipe(consensusOperator.create(consensusParams.parse(params), quiet(inputs))).subscribe((value) => out.push(value));
      return out;
    };
    expect(run({}, voters, [t0, m0, r0]), 'upstream ids are the voters').toStrictEqual([X]);
    const byWeights = run({ weights: { trend: 1, momentum: 1 }, quorum: 2 }, ['all-votes'], [t0, m0]);
    expect(byWeights.map((record) => (record.type === 'consensus' ? record.reason : '')), 'the weights name the voters').toStrictEqual([
      '2 of 2 voters long (quorum 2), agreement 1.00',
    ]);
  });

  it('does count late votes in the pipeline metrics', () => {
    const ctx = quiet(voters);
    from([t0, m0, r0, r0]).pipe(consensusOperator.create(consensusParams.parse({}), ctx)).subscribe();
    expect(ctx.metrics.counter(METRIC.skipped, '').get({ node: 'consensus', reason: 'late-vote' })).toBe(1);
  });

  it('does pass on the features every input knows', () => {
    const params = consensusParams.parse({});
    expect(
      consensusOperator.describe?.(params, [
        { type: 'vote', interval: '1m', features: ['atr14', 'sma20', 'rsi14'] },
        { type: 'vote', interval: '1m', features: ['rsi14', 'atr14'] },
      ]),
    ).toStrictEqual({ interval: '1m', features: ['atr14', 'rsi14'] });
    expect(consensusOperator.describe?.(params, [{ type: 'vote', features: ['atr14'] }, { type: 'vote' }]), 'unknown when one input does not know').toStrictEqual({});
  });
});

testDefinitionContract(consensusOperator, {
  params: {},
  ctx: { inputs: voters },
  input: () => [gap(), t0, gap(), m0, r0, t1, m1, r1],
});
