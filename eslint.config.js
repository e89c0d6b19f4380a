// Flat config. Type-aware rules are on for the TypeScript sources: the
// project is small enough that building the program costs a few seconds.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  {
    ignores: ['dist/', 'node_modules/', 'coverage/']
  },
  {
    // Plain JavaScript: configs, the Jest reporter and the benchmark's probes, all run by Node.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: globals.node
    }
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' }
  },
  {
    files: ['src/**/*.ts', '__tests__/**/*.ts', 'emulator/**/*.ts', 'scripts/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error'
    },
    rules: {
      // TypeScript already reports undefined names, and knows Node's globals.
      'no-undef': 'off',
      eqeqeq: ['error', 'always'],
      'prefer-const': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Numbers and booleans in template strings are how messages are built here.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Off: the input parsers `return problems.error(...)`, whose value is
      // undefined on purpose (see src/settings/problems.ts), and the rule counts any
      // undefined as a void expression.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Off: it misreads flags that a callback sets (the loop condition looks constant to
      // it) and defensive checks on values whose static type is wider than their runtime
      // value, such as `JSON.stringify(x) ?? String(x)`.
      '@typescript-eslint/no-unnecessary-condition': 'off'
    }
  },
  {
    // A module does one job: past 250 lines it usually holds two, and a
    // function that takes more than four values in a row wants one object.
    files: ['src/**/*.ts', 'emulator/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 250 }],
      'max-params': ['error', 4]
    }
  },
  {
    files: ['__tests__/**/*.ts'],
    rules: {
      // Fixtures are known to be there; a failed lookup fails the test anyway.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Parsed JSON and YAML are inspected field by field in assertions.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // Fakes implement async interfaces without having anything to wait for.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      // Tests feed control characters to the sanitisers on purpose.
      'no-control-regex': 'off'
    }
  }
)
