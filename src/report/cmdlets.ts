/**
 * Which cmdlets the report calls. The cheapest are the Get-EXO* cmdlets with the Minimum/Archive
 * property sets (docs/exchange-rest.md §6): a few properties per row instead of the ~200 of Get-Mailbox.
 * They are the PowerShell module's client-side cmdlets: our ExchangeClient sends the classic cmdlet and
 * applies the property sets itself (src/exchange/exo-cmdlets.ts), so no Get-EXO* name reaches Exchange.
 * A source that is not our client may still answer "not recognized": the collector then falls back to
 * the classic cmdlets, once per tenant.
 */
import { ServerError } from "../errors.js";

type Params = Record<string, string | boolean>;
export interface CmdletCall {
  cmdlet: string;
  params: Params;
}

export interface CmdletPlan {
  readonly name: "exo" | "classic";
  recipients(): CmdletCall;
  mailboxes(): CmdletCall;
  inactiveMailboxes(): CmdletCall;
  statistics(guid: string): CmdletCall;
  archiveStatistics(guid: string): CmdletCall;
}

export const EXO_PLAN: CmdletPlan = {
  name: "exo",
  recipients: () => ({ cmdlet: "Get-EXORecipient", params: { ResultSize: "Unlimited" } }),
  mailboxes: () => ({
    cmdlet: "Get-EXOMailbox",
    params: { ResultSize: "Unlimited", PropertySets: "Minimum,Archive,StatisticsSeed" },
  }),
  inactiveMailboxes: () => ({
    cmdlet: "Get-EXOMailbox",
    params: { InactiveMailboxOnly: true, ResultSize: "Unlimited" },
  }),
  // Minimum has the sizes and counts; LastLogonTime is the one extra property worth asking for.
  statistics: (guid) => ({
    cmdlet: "Get-EXOMailboxStatistics",
    params: { Identity: guid, Properties: "LastLogonTime" },
  }),
  archiveStatistics: (guid) => ({
    cmdlet: "Get-EXOMailboxStatistics",
    params: { Identity: guid, Archive: true },
  }),
};

export const CLASSIC_PLAN: CmdletPlan = {
  name: "classic",
  recipients: () => ({ cmdlet: "Get-Recipient", params: { ResultSize: "Unlimited" } }),
  mailboxes: () => ({ cmdlet: "Get-Mailbox", params: { ResultSize: "Unlimited" } }),
  inactiveMailboxes: () => ({
    cmdlet: "Get-Mailbox",
    params: { InactiveMailboxOnly: true, ResultSize: "Unlimited" },
  }),
  statistics: (guid) => ({ cmdlet: "Get-MailboxStatistics", params: { Identity: guid } }),
  archiveStatistics: (guid) => ({
    cmdlet: "Get-MailboxStatistics",
    params: { Identity: guid, Archive: true },
  }),
};

/** The service does not know this cmdlet or one of its parameters (not a per-mailbox failure). */
export function isUnsupportedCmdlet(error: unknown): boolean {
  if (!(error instanceof ServerError)) return false;
  const text = `${error.errorClass ?? ""} ${error.message}`;
  return /CommandNotFoundException|ParameterBindingException|is not recognized as the name of a cmdlet|A parameter cannot be found/i.test(
    text,
  );
}

/** The per-mailbox cmdlets of both plans: one call per mailbox, too many to log one record each. */
export const STATISTICS_CMDLETS: ReadonlySet<string> = new Set(
  [EXO_PLAN, CLASSIC_PLAN].flatMap((p) => [p.statistics("").cmdlet, p.archiveStatistics("").cmdlet]),
);
