// ESLint: the recommended rules of ESLint and typescript-eslint; formatting is Prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config({ ignores: ['dist/', 'docs/api/', 'node_modules/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  languageOptions: {
    globals: {
      console: 'readonly',
      process: 'readonly',
      Buffer: 'readonly',
      setTimeout: 'readonly',
      clearTimeout: 'readonly',
      setInterval: 'readonly',
      clearInterval: 'readonly',
      setImmediate: 'readonly',
      performance: 'readonly',
      fetch: 'readonly',
      URL: 'readonly',
      AbortSignal: 'readonly',
      queueMicrotask: 'readonly',
    },
  },
  rules: {
    // Unused parameters named with a leading underscore say "deliberately ignored".
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
  },
});
