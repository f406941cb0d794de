// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioPackages = ['kafkajs', 'ioredis', 'express', '@confluentinc/schemaregistry', 'prom-client', 'fs', 'node:fs', 'net', 'node:net', 'http', 'node:http', 'https', 'node:https', 'child_process', 'node:child_process'];
const pureMessage = 'models/ is pure: pass I/O in as a collaborator.';
// The bare names above miss subpaths (kafkajs/..., fs/promises) and the project's own I/O modules reached by a relative
// path; models/ owns its domain types (Reason, RecommendedItem, SimilarItem, SkillMastery), so it needs nothing of serving/.
const ioPatterns = [
  '^(kafkajs|ioredis|express|@confluentinc/schemaregistry|prom-client)/',
  '^(node:)?(fs|net|http|https|child_process)/',
  '^\\.{1,2}/(.*/)?lib/(kafka|redis|registry)(/.*)?$',
  '^\\.{1,2}/(.*/)?serving(/.*)?$',
  '^\\.{1,2}/(.*/)?api(/.*)?$',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.learnstream/**', 'coverage/**', 'eslint.config.mjs', 'jest.config.js', 'test/helpers/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // The demo page's script runs in the browser as it is (no build step): plain JavaScript, no type information.
    files: ['api/demo/static/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(['window', 'document', 'location', 'history', 'fetch', 'performance', 'setTimeout', 'clearTimeout', 'console'].map((g) => [g, 'readonly'])),
    },
  },
  {
    // The learning core is pure: no I/O. Collaborators (clock, store, emit) are passed in.
    files: ['models/**/*.ts'],
    ignores: ['models/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioPackages.map((name) => ({ name, message: pureMessage })),
          patterns: ioPatterns.map((regex) => ({ regex, message: pureMessage })),
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
