import { describe, expect, it } from 'vitest';
import { isBlockedAddress } from '../../src/engine/executors/http-address-policy.js';

describe('http address policy', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '169.254.169.254',
    '100.64.0.1',
    '192.0.0.8',
    '198.18.0.1',
    '198.19.255.255',
    '192.0.2.1',
    '203.0.113.9',
    '0.0.0.0',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '2001:db8::1',
    '2002:7f00:1::',
    '2001:0:4136:e378::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:127.0.0.1',
    '::127.0.0.1',
    '::7f00:1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::10.0.0.1',
    '64:ff9b::7f00:1',
    '64:ff9b:1::7f00:1',
    '64:ff9b:1::127.0.0.1',
    '64:ff9b:1::a00:1',
    '64:ff9b:1::a9fe:a9fe',
    '64:ff9b:1:7f00:0:100::',
    '64:ff9b:1:0:7f:0:100:0',
    '64:ff9b:2::808:808',
    '::ffff:0:127.0.0.1',
    '::ffff:0:7f00:1',
    '::ffff:0:c0a8:101',
    '::ffff:0:a9fe:a9fe',
    '0:0:0:0:ffff:0:10.0.0.1',
  ])(
    'refuses %s (loopback, private, reserved, an IPv4 one inside IPv6, or a NAT64 form whose IPv4 bits are not at /96)',
    (address) => {
      expect(isBlockedAddress(address)).toBe(true);
    },
  );

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '64:ff9b:1::808:808',
    '::ffff:0:808:808',
  ])('allows the public address %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});
