/**
 * Jest's node environment runs tests in a separate realm, so typed arrays created by onnxruntime-node's native
 * addon (outer realm) fail the `instanceof Float32Array` checks inside onnxruntime-common (test realm). Every
 * integration and fault test runs in this environment (jest.config.js, test/faults/jest.config.json), and unit tests
 * that run a real ONNX model select it with a `@jest-environment ./test/helpers/ort-environment.js` docblock; it
 * shares the outer realm's typed-array constructors and changes nothing else.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
