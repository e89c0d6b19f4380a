// Types of build-bundle.js, which the benchmark imports too.
/** Bundles src/ as `npm run build` does, into a temporary folder named by ABORT_ACTION_TEST_BUNDLE. */
export default function buildBundle(): Promise<void>
