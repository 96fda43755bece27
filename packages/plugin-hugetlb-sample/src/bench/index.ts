/**
 * `npm run bench`, hugetlb-sample part: 256 GiB of guest memory in 2 MiB
 * folios (131 072 keys) on a 1 TiB machine, preserved, kexec'd, restored
 * and verified. Prints the time of each phase and the peak host memory
 * (maximum resident set of this process).
 *
 *   node packages/plugin-hugetlb-sample/dist/bench/index.js
 */
import { GUEST_256G, runScale } from "./scale.js";

const gib = (n: number) => `${(n / 2 ** 30).toFixed(0)} GiB`;
const r = runScale(GUEST_256G);
const total = r.ms.allocate + r.ms.fill + r.ms.kexec + r.ms.verify;
console.log(
  `hugetlb-sample: ${gib(r.guestBytes)} in ${r.folios} folios of ${GUEST_256G.folioSize}, 1 TiB machine, ` +
    `${r.keys} radix keys handed over, ${gib(r.hostVerifiedBytes)} verified by the host`,
);
console.log(
  `  allocate ${r.ms.allocate} ms, fill ${r.ms.fill} ms, kexec (prepare, jump, restore) ${r.ms.kexec} ms, ` +
    `verify ${r.ms.verify} ms; total ${total} ms`,
);
console.log(`  peak host memory (max RSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
