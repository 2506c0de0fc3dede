import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { builtinRegistry } from '../../src/pipelines/builtins.js';
import { applyOverrides, parseConfigText } from '../../src/pipelines/load.js';
import { validatePipeline } from '../../src/pipelines/validate.js';

function problems(raw: unknown): string {
  try {
    validatePipeline(raw, builtinRegistry(), { file: 'bad.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected the config to be invalid');
}

const chain = [
  { id: 'trades', use: 'simulator-trades', params: { duration: '1h' } },
  { id: 'candles', use: 'build-candles', from: 'trades' },
  { id: 'features', use: 'features', from: 'candles' },
  { id: 'trend', use: 'trend-voter', from: 'features' },
  { id: 'momentum', use: 'momentum-voter', from: 'features' },
  { id: 'mean-reversion', use: 'mean-reversion-voter', from: 'features' },
  { id: 'consensus', use: 'consensus', from: ['trend', 'momentum', 'mean-reversion'] },
  { id: 'risk', use: 'risk-plan', from: 'consensus' },
  { id: 'out', use: 'console', from: 'risk' },
];

describe('validatePipeline', () => {
  it('accepts the full chain and fills in defaults', () => {
    const graph = validatePipeline({ name: 'ok', nodes: chain }, builtinRegistry());
    expect(graph.nodes.map((node) => node.id)).toStrictEqual(chain.map((node) => node.id));
    const candles = graph.nodes.find((node) => node.id === 'candles');
    expect(candles?.params, 'defaults are resolved here and nowhere downstream').toStrictEqual({ interval: '1m', forming: false, fillEmpty: true, volumeDecimals: 8 });
    expect(graph.nodes.find((node) => node.id === 'features')?.port?.interval, 'the interval flows along the ports').toBe('1m');
  });

  it('orders nodes so every node follows its inputs, whatever the order in the file', () => {
    const graph = validatePipeline({ name: 'ok', nodes: [...chain].reverse() }, builtinRegistry());
    const position = new Map(graph.nodes.map((node, i) => [node.id, i]));
    for (const node of graph.nodes) for (const ref of node.from) expect(position.get(ref)).toBeLessThan(position.get(node.id) ?? -1);
  });

  it('reports every structural problem at once, each with its path and value', () => {
    expect(
      problems({
        name: 'broken',
        colour: 'blue',
        nodes: [
          { id: 'trades', use: 'simulator-trades', params: { seed: 'seven' } },
          { id: 'Candles', use: 'build-candles', from: 'trades' },
          { id: 'trades', use: 'simulator-candles' },
          { id: 'feats', use: 'featurs', from: 'candles' },
          { id: 'vote', use: 'trend-voter', from: 'feature' },
          { id: 'loop-a', use: 'select', from: 'loop-b', params: { types: ['trade'] } },
          { id: 'loop-b', use: 'select', from: 'loop-a', params: { types: ['trade'] } },
          { id: 'extra', use: 'console', form: 'vote' },
        ],
      }),
    ).toMatchInlineSnapshot(`
      "bad.yaml is invalid (9 problems):
      ✖ Unknown key "colour". Allowed: name, description, nodes.
      ✖ Node id "Candles" must be kebab-case (lower-case letters, digits and single dashes), e.g. "btc-candles"
        → at nodes[1].id
      ✖ Duplicate node id "trades" (already used by nodes[0])
        → at nodes[2].id
      ✖ Unknown key "form". Did you mean "from"? Allowed: id, use, from, params, description.
        → at nodes[7]
      ✖ Node "feats" reads from "candles", which does not exist. Did you mean "Candles"? Nodes: trades, Candles, feats, vote, loop-a, loop-b, extra
        → at nodes[3].from
      ✖ Unknown kind "featurs" (node "feats"). Did you mean "features"? Available sources: binance-klines-csv, binance-live, coinbase-live, kraken-live, replay-file, simulator-candles, simulator-trades; operators: build-candles, consensus, features, mean-reversion-voter, momentum-voter, resample-candles, risk-plan, select, trend-voter; sinks: console, discard, ndjson-file
        → at nodes[3].use
      ✖ Node "vote" reads from "feature", which does not exist. Nodes: trades, Candles, feats, vote, loop-a, loop-b, extra
        → at nodes[4].from
      ✖ Cycle: loop-a → loop-b → loop-a
        → at nodes[5].from
      ✖ Expected number, got "seven"
        → at nodes[0].params.seed"
    `);
  });

  it('reports bad params, wrong ports and missing inputs with the node and its kind', () => {
    expect(
      problems({
        name: 'mismatched',
        nodes: [
          { id: 'trades', use: 'simulator-trades', from: 'candles' },
          { id: 'candles', use: 'build-candles', from: 'trades', params: { interval: '7x', perod: 3 } },
          { id: 'sim', use: 'simulator-trades', params: { duration: '1h' } },
          { id: 'features', use: 'features', from: 'sim', params: { indicators: [{ use: 'rsi', period: 0 }, { use: 'emaa' }] } },
          { id: 'trend', use: 'trend-voter' },
          { id: 'two', use: 'build-candles', from: ['sim', 'sim'] },
        ],
      }),
    ).toMatchInlineSnapshot(`
      "bad.yaml is invalid (8 problems):
      ✖ Cycle: trades → candles → trades
        → at nodes[0].from
      ✖ Interval "7x" is not valid: use <n>s, <n>m, <n>h or <n>d between 1s and 1d (e.g. 1m, 15m, 4h)
        → at nodes[1].params.interval
      ✖ Unknown key "perod". Allowed: interval, forming, fillEmpty, volumeDecimals.
        → at nodes[1].params
      ✖ Node "trades" is a source (simulator-trades) and takes no input: remove "from"
        → at nodes[0].from
      ✖ "0" is too small: must be >= 1
        → at nodes[3].params.indicators[0].period
      ✖ Unknown indicator "emaa"; available: adx, atr, bollinger, ema, fibonacci, ichimoku, macd, rsi, sma, stochastic, volume-profile, vwap
        → at nodes[3].params.indicators[1].use
      ✖ Node "trend" (trend-voter) needs an input: set "from" to the id of the node it reads
        → at nodes[4].from
      ✖ Node "two" (build-candles) takes one input, got 2: "sim", "sim"
        → at nodes[5].from"
    `);
  });

  it('checks ports along every edge and what a node needs from upstream', () => {
    expect(
      problems({
        name: 'ports',
        nodes: [
          { id: 'bars', use: 'simulator-candles', params: { interval: '5m', duration: '1h' } },
          { id: 'candles', use: 'build-candles', from: 'bars' },
          { id: 'hourly', use: 'resample-candles', from: 'bars', params: { interval: '7m' } },
          { id: 'features', use: 'features', from: 'bars', params: { indicators: [{ use: 'rsi', period: 14 }] } },
          { id: 'trend', use: 'trend-voter', from: 'features' },
          { id: 'risk', use: 'risk-plan', from: 'features' },
        ],
      }),
    ).toMatchInlineSnapshot(`
      "bad.yaml is invalid (7 problems):
      ✖ Node "candles" (build-candles) takes trade records, but "bars" (simulator-candles) emits candle records
        → at nodes[1].from
      ✖ Cannot resample "5m" candles to "7m": the target interval must be a whole multiple of the input interval and larger
        → at nodes[2].params.interval
      ✖ Feature "sma20" is not computed upstream; available: rsi14
        → at nodes[4].params.fast
      ✖ Feature "sma50" is not computed upstream; available: rsi14
        → at nodes[4].params.slow
      ✖ Feature "macd" is not computed upstream; available: rsi14
        → at nodes[4].params.macd
      ✖ Feature "adx" is not computed upstream; available: rsi14
        → at nodes[4].params.adx
      ✖ Node "risk" (risk-plan) takes consensus records, but "features" (features) emits features records
        → at nodes[5].from"
    `);
  });

  it('reports a config that is not even an object', () => {
    expect(problems('nodes: nope')).toMatchInlineSnapshot(`
      "bad.yaml is invalid (1 problem):
      ✖ Expected object, got "nodes: nope""
    `);
    expect(problems({ name: 'empty', nodes: [] })).toMatchInlineSnapshot(`
      "bad.yaml is invalid (1 problem):
      ✖ Needs at least 1 item, got 0
        → at nodes"
    `);
  });
});

describe('parseConfigText', () => {
  it('names the line and column of a YAML syntax error', () => {
    expect(() => parseConfigText('name: x\nnodes:\n  - id: a\n   use: b\n', 'bad.yaml')).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: bad.yaml is invalid (1 problem):
      ✖ YAML syntax error at line 4, column 1: Sequence item without - indicator]
    `);
  });

  it('reads JSON too', () => {
    expect(parseConfigText('{"name": "x", "nodes": []}')).toStrictEqual({ name: 'x', nodes: [] });
  });
});

describe('applyOverrides', () => {
  const raw = { name: 'x', nodes: [{ id: 'trades', use: 'simulator-trades', params: { seed: 1 } }, { id: 'risk', use: 'risk-plan' }] };

  it('sets params by node id and path, reading values as YAML', () => {
    const out = applyOverrides(raw, ['trades.seed=7', 'risk.equity=25000', 'trades.symbol=ETH-USDT', 'risk.nested.flag=true']) as typeof raw;
    expect(out.nodes[0]?.params).toStrictEqual({ seed: 7, symbol: 'ETH-USDT' });
    expect(out.nodes[1]).toStrictEqual({ id: 'risk', use: 'risk-plan', params: { equity: 25000, nested: { flag: true } } });
    expect(raw.nodes[0]?.params?.seed, 'the original config is untouched').toBe(1);
  });

  it('reports a malformed override or an unknown node', () => {
    expect(() => applyOverrides(raw, ['seed=7', 'trade.seed=7'])).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: Pipeline config is invalid (2 problems):
      ✖ Override "seed=7" must look like <node-id>.<param>=<value>, e.g. trades.seed=7
        → at --set
      ✖ Override "trade.seed=7" names node "trade", which does not exist. Nodes: trades, risk
        → at --set]
    `);
  });
});
