// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import path from 'node:path';

/**
 * The layer order (docs/architecture.md, "Layers"): a file imports only its own folder and folders of a LOWER layer,
 * never one above it nor a peer of the same layer. Lowest first; the longest matching prefix decides. Tests, and files
 * outside these folders, are not checked.
 */
const LAYERS = [
  ['lib/errors.ts', 0], // the error family: everyone's ground
  ['schemas', 1], // event contracts and topic names
  ['models', 2], // the pure learning core
  ['lib', 3], // plumbing: config, log, metrics, serde, clients, encoder, retry, problems
  ['consumers', 4], // the consumption layer: stage runner, offsets/state, decode, dead letters
  ['serving', 4], // the Redis hop: writer and reader interfaces, stores, list codec
  ['infra', 4], // the local stack
  ['pipelines', 5], // the stages (learner, item, catalog) and their wiring
  ['producers', 5], // typed publisher, HTTP collector, replay, datasets
  ['api', 6], // the read API
  ['scripts', 7],
  ['bench', 7],
];
const root = import.meta.dirname;
const layerOf = (rel) => {
  let best;
  for (const [prefix, layer] of LAYERS)
    if ((rel === prefix || rel + '.ts' === prefix || rel.startsWith(prefix + '/')) && (!best || prefix.length > best.prefix.length))
      best = { prefix, layer };
  return best;
};
const layerOrder = {
  meta: { type: 'problem', schema: [], messages: { up: "'{{from}}' (layer {{fl}}) must not import '{{to}}' (layer {{tl}}): {{why}}" } },
  create(context) {
    const file = path.relative(root, context.filename).split(path.sep).join('/');
    const from = layerOf(file);
    if (!from || /\.test\.ts$/.test(file)) return {};
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path
        .relative(root, path.resolve(path.dirname(context.filename), spec))
        .split(path.sep)
        .join('/');
      const to = layerOf(target);
      if (!to || to.prefix === from.prefix) return;
      if (to.layer < from.layer) return;
      const why = to.layer === from.layer ? 'peers of one layer stay apart' : 'imports run down the layers only';
      context.report({ node, messageId: 'up', data: { from: from.prefix, fl: from.layer, to: to.prefix, tl: to.layer, why } });
    };
    const src = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: src,
      ExportNamedDeclaration: src,
      ExportAllDeclaration: src,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      CallExpression(node) {
        const a = node.arguments[0];
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && a?.type === 'Literal') check(node, a.value);
      },
    };
  },
};

const ioPackages = [
  'kafkajs',
  'ioredis',
  'express',
  '@confluentinc/schemaregistry',
  'prom-client',
  'fs',
  'node:fs',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
  'child_process',
  'node:child_process',
];
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
    plugins: { learnstream: { rules: { 'layer-order': layerOrder } } },
    rules: { 'learnstream/layer-order': 'error' },
  },
  {
    // The demo page's script runs in the browser as it is (no build step): plain JavaScript, no type information.
    files: ['api/demo/static/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'fetch', 'performance', 'setTimeout', 'clearTimeout', 'console'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
  {
    // The learning core is pure: no I/O. Collaborators (clock, store, emit) are passed in.
    files: ['models/**/*.ts'],
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
