/**
 * A cold boot and a kexec chain for a plugin's tests, and assertions on their reports.
 *
 * @module @khosim/kho-core/testing
 */

export { assertNoAnomalies, assertRunning, assertSubtree, subtreeFate } from "./assert.js";
export { type ChainKernel, type KexecChain, type KexecChainOptions, runKexecChain, TEST_MACHINE } from "./chain.js";
