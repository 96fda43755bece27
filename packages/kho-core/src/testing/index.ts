export { assertNoAnomalies, assertRunning, assertSubtree, subtreeFate } from "./assert.js";
export { type ChainKernel, type KexecChain, type KexecChainOptions, runKexecChain, TEST_MACHINE } from "./chain.js";
