// The editor's commands as its command palette shows them ("category: title" from package.json's
// contributes.commands). Messages outside the editor (a call's error, the log) name a command by
// these words so a person can type them into the palette; a test holds them to package.json.

export const SET_UPSTREAM_KEY_COMMAND = { id: 'tollgate.setUpstreamKey', title: 'Tollgate: Set Upstream API Key…' } as const;
export const APPROVE_UPSTREAM_HOSTS_COMMAND = { id: 'tollgate.approveUpstreamHosts', title: 'Tollgate: Approve Upstream Hosts…' } as const;
export const SIGN_IN_COMMAND = { id: 'tollgate.signIn', title: 'Tollgate: Sign In…' } as const;
export const SIGN_OUT_COMMAND = { id: 'tollgate.signOut', title: 'Tollgate: Sign Out' } as const;
