import {includeIgnoreFile} from '@eslint/compat'
import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const gitignorePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '.gitignore')

export default [
  includeIgnoreFile(gitignorePath),
  ...oclif,
  prettier,
  {
    rules: {
      // Configuration keys keep the predecessor's snake_case YAML names (config.yaml stays valid).
      camelcase: ['error', {properties: 'never'}],
      'n/no-process-exit': 'off',
      // Operators read our errors; we keep explicit `null` where Mongo documents carry it.
      'unicorn/no-null': 'off',
      'unicorn/no-process-exit': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'plugins/*/test/**/*.ts', 'examples/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      'mocha/no-setup-in-describe': 'off',
      'mocha/no-top-level-hooks': 'off',
      'no-unused-expressions': 'off',
    },
  },
]
