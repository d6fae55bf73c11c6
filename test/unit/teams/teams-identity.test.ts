// Teams identity mapping and the inbound checks pgwarden adds in front of the SDK's JWT validation.
import { describe, expect, it } from 'vitest';
import { PUBLIC } from '@microsoft/teams.api';
import { TeamsIdentities } from '../../../src/approvals/channels/teams/identity.js';
import { precheckInbound } from '../../../src/approvals/channels/teams/bot.js';
import { canVote } from '../../../src/approvals/channels/teams/actions.js';
import type { ApprovalRequest } from '../../../src/approvals/request.js';

const AAD = 'AAAAAAAA-0000-4000-8000-000000000001';

describe('TeamsIdentities', () => {
  const ids = new TeamsIdentities({ [AAD]: 'alice@example.com', 'Bob@Example.com': 'bob@example.com' });

  it('maps an AAD object id (any case) and a UPN (any case)', () => {
    expect(ids.resolve({ aadObjectId: AAD.toLowerCase() })).toBe('alice@example.com');
    expect(ids.resolve({ upn: 'BOB@example.COM' })).toBe('bob@example.com');
    expect(ids.resolve({ aadObjectId: 'ffffffff-0000-4000-8000-000000000009' })).toBeNull();
  });

  it('prefers the object id over the UPN', () => {
    expect(ids.resolve({ aadObjectId: AAD, upn: 'bob@example.com' })).toBe('alice@example.com');
  });

  it('knows when a roster lookup for the UPN is needed', () => {
    expect(ids.needsUpn(AAD)).toBe(false);
    expect(ids.needsUpn('ffffffff-0000-4000-8000-000000000009')).toBe(true);
    expect(new TeamsIdentities({ [AAD]: 'a' }).needsUpn('ffffffff-0000-4000-8000-000000000009')).toBe(false);
  });

  it('lists AAD ids and UPNs of approver identities', () => {
    expect(ids.aadIdsFor(['Alice@example.com'])).toEqual([AAD.toLowerCase()]);
    expect(ids.upnsFor(['bob@example.com'])).toEqual(['bob@example.com']);
  });
});

describe('precheckInbound', () => {
  const jwt = (payload: object) => `x.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.y`;
  const body = { serviceUrl: 'https://smba.trafficmanager.net/emea/' };

  it('accepts a Bot Framework token with a serviceUrl on the activity (signature is the SDK’s job)', () => {
    expect(precheckInbound({ authorization: `Bearer ${jwt({ iss: PUBLIC.tokenIssuer })}` }, body, PUBLIC)).toBeNull();
  });

  it('refuses a missing header, a non-JWT, an Entra-issued token and an activity without serviceUrl', () => {
    expect(precheckInbound({}, body, PUBLIC)).toMatch(/Authorization/);
    expect(precheckInbound({ authorization: 'Bearer nope' }, body, PUBLIC)).toMatch(/not a JWT/);
    expect(precheckInbound({ authorization: `Bearer ${jwt({ iss: 'https://login.microsoftonline.com/t/v2.0' })}` }, body, PUBLIC)).toMatch(/Bot Framework/);
    expect(precheckInbound({ authorization: `Bearer ${jwt({ iss: PUBLIC.tokenIssuer })}` }, {}, PUBLIC)).toMatch(/serviceUrl/);
  });
});

describe('canVote', () => {
  const base = {
    status: 'pending',
    approvers: ['alice@example.com', 'owen@example.com'],
    actor: { user: 'agent', application: '', address: '', owner: 'Owen@example.com' },
    decisions: [],
  } as unknown as ApprovalRequest;

  it('lets a listed approver vote once, never the owner', () => {
    expect(canVote('ALICE@example.com', base)).toBe(true);
    expect(canVote('owen@example.com', base)).toBe(false);
    expect(canVote('mallory@example.com', base)).toBe(false);
    expect(canVote('alice@example.com', { ...base, decisions: [{ by: 'alice@example.com', decision: 'approve', reason: '', at: '' }] })).toBe(false);
  });
});
