// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioPackages = ['kafkajs', 'ioredis', 'express', '@confluentinc/schemaregistry', 'prom-client', 'fs', 'node:fs', 'net', 'node:net', 'http', 'node:http'];

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
    // The learning core is pure: no I/O. Collaborators (clock, store, emit) are passed in.
    files: ['models/**/*.ts'],
    ignores: ['models/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioPackages.map((name) => ({ name, message: 'models/ is pure: pass I/O in as a collaborator.' })) }],
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
