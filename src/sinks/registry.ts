import type { SinkDefinition } from '../definitions.js';
import { consoleSink } from './consoleSink.js';
import { discardSink } from './discardSink.js';
import { fileSink } from './fileSink.js';

/** Every built-in sink, alphabetically by kind. Adding one: a file and a line here. */
export const builtinSinks: readonly SinkDefinition[] = [consoleSink, discardSink, fileSink];
