export type { ConsoleSinkOptions } from './consoleSink.js';
export { consoleSink, consoleSinkParams, toConsole } from './consoleSink.js';
export { deliveryCounters } from './deliveries.js';
export { discardSink, discardSinkParams, toDiscard } from './discardSink.js';
export type { FileSinkOptions } from './fileSink.js';
export { fileSink, fileSinkParams, toFile } from './fileSink.js';
export type { FormatOptions as FormatRecordOptions } from './formatRecord.js';
export { formatNumber, formatRecord, formatTime } from './formatRecord.js';
export { builtinSinks } from './registry.js';
