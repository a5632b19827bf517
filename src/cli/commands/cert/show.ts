import { stateHome } from "../../../config/home.js";
import { outputOption } from "../../common-options.js";
import { argument, defineCommand } from "../../define-command.js";
import { requiredText } from "../../option-schemas.js";

/** `exo-cba cert show THUMBPRINT`: everything about one certificate of the store. */
export const command = defineCommand({
  name: "show",
  description: "show one certificate of the local store",
  examples: ["exo-cba cert show 3F2A...C9 --output json"],
  arguments: {
    thumbprint: argument(
      "<thumbprint>",
      "SHA-1 (or SHA-256) thumbprint, any case, spaces or colons allowed",
      requiredText(),
    ),
  },
  options: { ...outputOption() },
  needs: "none",
  async run(ctx, opts) {
    const { CertStore } = await import("../../../cert/store.js");
    const { detail } = await import("./common.js");
    const store = await CertStore.open(stateHome(ctx.env), ctx.env);
    return detail(await store.get(opts.thumbprint));
  },
});
