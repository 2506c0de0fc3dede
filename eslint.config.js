// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import rxjsX from 'eslint-plugin-rxjs-x';
import importX from 'eslint-plugin-import-x';

const wallClock = {
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Use event time or ctx.scheduler.now().' },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Schedule on ctx.scheduler instead.' },
    { name: 'setInterval', message: 'Schedule on ctx.scheduler instead.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  rxjsX.configs.strict,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'import-x/no-cycle': 'error',
      'rxjs-x/no-internal': 'error',
      'rxjs-x/no-nested-subscribe': 'error',
      'rxjs-x/no-ignored-subscription': 'error',
      'rxjs-x/no-floating-observables': 'error',
      'rxjs-x/no-exposed-subjects': 'error',
      'rxjs-x/no-async-subscribe': 'error',
      'rxjs-x/no-unsafe-takeuntil': 'error',
      'rxjs-x/finnish': [
        'error',
        {
          functions: false,
          methods: false,
          parameters: true,
          properties: true,
          variables: true,
          // Operator functions return Observables but are not streams: they keep plain names.
          types: { '^(OperatorFunction|MonoTypeOperatorFunction|UnaryFunction)$': false, '^EventEmitter$': false },
        },
      ],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**', '../test/*'], message: 'Production code never imports from test/.' }] }],
    },
  },
  { files: ['src/operators/**', 'src/sources/**'], rules: wallClock },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      'no-restricted-imports': 'off',
      // Test code subscribes to assert: an error there fails the test as an unhandled error,
      // and a missing value fails the assertion that follows.
      'rxjs-x/no-ignored-subscription': 'off',
      'rxjs-x/no-ignored-error': 'off',
      'rxjs-x/no-ignored-default-value': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
