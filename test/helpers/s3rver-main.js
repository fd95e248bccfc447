// Runs s3rver in a process of its own (started by test/helpers/s3.ts) with OpenSSL's legacy
// provider: s3rver makes its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 leaves
// out by default, so without it any listing past 1000 keys fails with InternalError.
'use strict';
const S3rver = require('s3rver');

const directory = process.argv[2];
// An access key of its own (argv 3 and 4): the server then knows only that one, so a request
// signed with any other key id (S3RVER included) is refused with InvalidAccessKeyId.
const [accessKeyId, secretAccessKey] = process.argv.slice(3);
if (accessKeyId) {
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
}
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (err) => {
    process.stderr.write(`s3rver did not start: ${err && err.stack}\n`);
    process.exit(1);
  },
);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Gone with the test process that started it.
process.on('disconnect', stop);
