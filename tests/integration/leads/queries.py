"""GraphQL documents shared by the leads integration tests."""

LEAD_FIELDS = """
  id company contactName email phone website domain source tags priority status ownerId
  ownerTeam version opportunityId accountId disqualifyReason
"""

_FRAGMENTS = {
    "ValidationError": "message fields { path message }",
    "NotFound": "message entity id",
    "Forbidden": "message",
    "VersionConflict": "message currentVersion",
    "InvalidLeadState": "message status",
    "CapExceeded": "message memberId leadCap activeLeads requested fits",
    "DuplicateLead": "message existingLeadId matchedOn",
}


def errors(*names: str) -> str:
    """Fragments for the error types a result union holds (GraphQL refuses others)."""
    names = names or ("ValidationError", "NotFound", "Forbidden")
    return " ".join(f"... on {n} {{ {_FRAGMENTS[n]} }}" for n in names)


COMMON = ("ValidationError", "NotFound", "Forbidden")
ERRORS = errors(*COMMON)

ME = "query { me { id name team roles leadCap customLeadCap activeLeadCount } }"

CREATE_LEAD = f"""
mutation($input: LeadInput!, $allow: Boolean! = false) {{
  createLead(input: $input, allowDuplicate: $allow) {{
    __typename ... on LeadPayload {{ lead {{ {LEAD_FIELDS} }} }}
    {errors("ValidationError", "Forbidden", "DuplicateLead")}
  }}
}}"""

LEAD_RESULT = (
    f"__typename ... on LeadPayload {{ lead {{ {LEAD_FIELDS} }} }} "
    f"{errors(*COMMON, 'VersionConflict', 'InvalidLeadState')}"
)
CLAIM_RESULT = (
    f"__typename ... on LeadPayload {{ lead {{ {LEAD_FIELDS} }} }} "
    f"{errors(*COMMON, 'CapExceeded', 'InvalidLeadState')}"
)

CLAIM_NEXT = f"""
mutation($count: Int!, $filter: PoolFilterInput) {{
  claimNextLeads(count: $count, filter: $filter) {{
    __typename
    ... on ClaimPayload {{ leads {{ {LEAD_FIELDS} }} requested leadCap activeLeads }}
    {ERRORS}
  }}
}}"""

CLAIM = f"mutation($id: ID!) {{ claimLead(id: $id) {{ {CLAIM_RESULT} }} }}"
RELEASE = f"mutation($id: ID!) {{ releaseLead(id: $id) {{ {LEAD_RESULT} }} }}"
CONTACTED = f"mutation($id: ID!) {{ markContacted(id: $id) {{ {LEAD_RESULT} }} }}"
QUALIFY = f"mutation($id: ID!) {{ qualifyLead(id: $id) {{ {LEAD_RESULT} }} }}"
DISQUALIFY = (
    f"mutation($id: ID!, $reason: String!) {{ disqualifyLead(id: $id, reason: $reason) "
    f"{{ {LEAD_RESULT} }} }}"
)
UPDATE = (
    f"mutation($id: ID!, $input: LeadUpdateInput!, $version: Int) "
    f"{{ updateLead(id: $id, input: $input, version: $version) {{ {LEAD_RESULT} }} }}"
)
ASSIGN = f"""
mutation($ids: [ID!]!, $member: ID!) {{
  assignLeads(ids: $ids, memberId: $member) {{
    __typename ... on LeadsPayload {{ leads {{ {LEAD_FIELDS} }} }}
    {errors(*COMMON, "CapExceeded", "InvalidLeadState")}
  }}
}}"""
REASSIGN = f"""
mutation($id: ID!, $member: ID!) {{
  reassignLead(id: $id, memberId: $member) {{ {CLAIM_RESULT} }}
}}
"""
SET_CAP = f"""
mutation($member: ID!, $cap: Int) {{
  setLeadCap(memberId: $member, leadCap: $cap) {{
    __typename ... on MemberPayload {{ member {{ id leadCap customLeadCap activeLeadCount }} }}
    {ERRORS}
  }}
}}"""
LEADS = f"""
query($first: Int, $after: String, $filter: LeadFilterInput) {{
  leads(first: $first, after: $after, filter: $filter) {{
    edges {{ cursor node {{ {LEAD_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
LEAD = f"query($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"
CONVERT = f"""
mutation($id: ID!, $opp: OpportunityInput!, $accountId: ID, $account: AccountInput) {{
  convertLead(id: $id, opportunity: $opp, accountId: $accountId, account: $account) {{
    __typename
    ... on ConvertLeadPayload {{
      opportunityId accountCreated lead {{ {LEAD_FIELDS} }}
      account {{ id name domain nip ownerId contacts {{ id name email }} }}
      contact {{ id name email phone accountId leadId }}
    }}
    {errors(*COMMON, "InvalidLeadState")}
  }}
}}"""
IMPORT = f"""
mutation($csv: String!, $dryRun: Boolean! = false) {{
  importLeads(csv: $csv, dryRun: $dryRun) {{
    __typename
    ... on ImportReport {{
      importId dryRun totalRows createdCount created {{ line leadId }}
      duplicates {{ line matchedOn existingLeadId duplicateOfLine }}
      invalid {{ line reason }} ignoredColumns
    }}
    {errors("ValidationError", "Forbidden")}
  }}
}}"""
SETTINGS = """
mutation($input: LeadSettingsInput!) {
  updateLeadSettings(input: $input) {
    __typename
    ... on LeadSettingsPayload { settings { defaultRegion defaultLeadCap idleReturnDays } }
    ... on ValidationError { message fields { path message } }
    ... on Forbidden { message }
  }
}"""
