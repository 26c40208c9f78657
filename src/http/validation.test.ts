import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validationDetail } from '../platform/validation-failed.ts';
import { fieldErrors } from './validation.ts';

describe('fieldErrors', () => {
  it('keeps body paths as JSON Pointers into the body', () => {
    const errors = fieldErrors(
      [
        {
          keyword: 'type',
          instancePath: '/events/2/payload',
          schemaPath: '#',
          params: {},
          message: 'must be object',
        },
      ],
      'body',
    );
    assert.deepEqual(errors, [{ path: '/events/2/payload', message: 'must be object' }]);
    assert.equal(validationDetail(errors, 'body'), 'body/events/2/payload must be object');
  });

  it('points ajv "required" at the missing property, escaping ~ and / (RFC 6901)', () => {
    const errors = fieldErrors(
      [
        {
          keyword: 'required',
          instancePath: '/meta',
          schemaPath: '#',
          params: { missingProperty: 'a/b~c' },
          message: 'x',
        },
      ],
      'body',
    );
    assert.deepEqual(errors, [{ path: '/meta/a~1b~0c', message: 'is required' }]);
  });

  it('expands TypeBox "required" (a list) into one entry per property', () => {
    const errors = fieldErrors(
      [
        {
          keyword: 'required',
          instancePath: '',
          schemaPath: '#',
          params: { requiredProperties: ['a', 'b'] },
          message: 'x',
        },
      ],
      'querystring',
    );
    assert.deepEqual(errors, [
      { path: '/querystring/a', message: 'is required' },
      { path: '/querystring/b', message: 'is required' },
    ]);
    assert.equal(
      validationDetail(errors, 'querystring'),
      'querystring/a is required; querystring/b is required',
    );
  });

  it('names an unknown property', () => {
    const errors = fieldErrors(
      [
        {
          keyword: 'additionalProperties',
          instancePath: '',
          schemaPath: '#',
          params: { additionalProperty: 'x' },
          message: 'y',
        },
      ],
      'headers',
    );
    assert.deepEqual(errors, [{ path: '/headers/x', message: 'is not an allowed property' }]);
  });

  it('falls back to the keyword when ajv gives no message', () => {
    const errors = fieldErrors(
      [{ keyword: 'custom', instancePath: '/a', schemaPath: '#', params: {} }],
      undefined,
    );
    assert.deepEqual(errors, [{ path: '/a', message: 'fails custom' }]);
  });
});
