import { stateHome } from "../../../config/home.js";
import { outputOption } from "../../common-options.js";
import { defineCommand } from "../../define-command.js";

/** `exo-cba cert list`: the certificates of the local store, soonest expiry first. */
export const command = defineCommand({
  name: "list",
  description: "list the certificates of the local store (soonest expiry first)",
  examples: ["exo-cba cert list", "exo-cba cert list --output json"],
  options: { ...outputOption() },
  needs: "none",
  async run(ctx) {
    const { CertStore } = await import("../../../cert/store.js");
    const { listRow } = await import("./common.js");
    const store = await CertStore.open(stateHome(ctx.env), ctx.env);
    return (await store.list()).map(listRow);
  },
});
