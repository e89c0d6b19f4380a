// Kept equal to package.json's version by a test; importing package.json
// would put the whole manifest into the bundle.
export const ACTION_NAME = 'datadog-synthetics-abort-upload-action'
export const ACTION_VERSION = '1.1.0'
