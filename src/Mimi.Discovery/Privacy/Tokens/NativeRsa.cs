// RSASP1 (RFC 8017 §5.2.1), the raw RSA private operation blind signing needs (RFC 9474 §4.3), and
// RSAVP1, the public operation its fault check re-applies,
// through the platform's OpenSSL 3: the BCL does not expose RSA without padding, but its
// RSAOpenSsl hands out the EVP_PKEY, and EVP_PKEY_decrypt with RSA_NO_PADDING is exactly
// s = m^d mod n — CRT, constant time and with OpenSSL's own base blinding. Where the BCL is not
// on OpenSSL 3 (Windows, macOS, older Linux), callers fall back to the managed engine.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>A private key held by OpenSSL for the raw RSA private operation.</summary>
internal sealed partial class NativeRsa : IDisposable
{
    private const string Library = "libcrypto.so.3";
    private const int RsaNoPadding = 3;

    private readonly RSAOpenSsl _rsa;
    private readonly SafeEvpPKeyHandle _key;

    [SupportedOSPlatform("linux")]
    private NativeRsa(RSAParameters parameters)
    {
        _rsa = new RSAOpenSsl(parameters);
        _key = _rsa.DuplicateKeyHandle();
        ModulusLength = parameters.Modulus!.Length;
    }

    /// <summary>Whether the BCL runs on OpenSSL 3 here, so the handle it gives is one libcrypto.so.3 understands.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Probe();

    public int ModulusLength { get; }

    /// <summary>Holds <paramref name="parameters"/> (with every CRT value) in OpenSSL; null when unsupported here.</summary>
    public static NativeRsa? TryCreate(RSAParameters parameters) => OperatingSystem.IsLinux() && IsSupported ? new NativeRsa(parameters) : null;

    /// <summary>s = m^d mod n (RSASP1, RFC 8017 §5.2.1) for a k-byte big-endian m &lt; n; null when OpenSSL refuses (m ≥ n, wrong length).</summary>
    public byte[]? PrivateOperation(byte[] input) => Raw(input, decrypt: true);

    /// <summary>m = s^e mod n (RSAVP1, RFC 8017 §5.2.2) for a k-byte big-endian s &lt; n; null when OpenSSL refuses.</summary>
    public byte[]? PublicOperation(byte[] input) => Raw(input, decrypt: false);

    // EVP_PKEY_decrypt / EVP_PKEY_encrypt with RSA_NO_PADDING are the bare private and public operations.
    private byte[]? Raw(byte[] input, bool decrypt)
    {
        if (input.Length != ModulusLength)
        {
            return null;
        }

        var added = false;
        _key.DangerousAddRef(ref added);
        var context = EVP_PKEY_CTX_new(_key.DangerousGetHandle(), IntPtr.Zero);
        try
        {
            var output = new byte[ModulusLength];
            var length = (nuint)output.Length;
            return context != IntPtr.Zero
                   && (decrypt ? EVP_PKEY_decrypt_init(context) : EVP_PKEY_encrypt_init(context)) == 1
                   && EVP_PKEY_CTX_set_rsa_padding(context, RsaNoPadding) == 1
                   && (decrypt
                       ? EVP_PKEY_decrypt(context, output, ref length, input, (nuint)input.Length)
                       : EVP_PKEY_encrypt(context, output, ref length, input, (nuint)input.Length)) == 1
                   && length == (nuint)output.Length
                ? output
                : null;
        }
        finally
        {
            if (context != IntPtr.Zero)
            {
                EVP_PKEY_CTX_free(context);
            }

            if (added)
            {
                _key.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        _key.Dispose();
        _rsa.Dispose();
    }

    [SupportedOSPlatform("linux")]
    private static bool Probe()
    {
        try
        {
            return SafeEvpPKeyHandle.OpenSslVersion >= 0x3000_0000 && NativeLibrary.TryLoad(Library, out _);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    private static partial IntPtr EVP_PKEY_CTX_new(IntPtr key, IntPtr engine);

    [LibraryImport(Library)]
    private static partial int EVP_PKEY_decrypt_init(IntPtr context);

    [LibraryImport(Library)]
    private static partial int EVP_PKEY_CTX_set_rsa_padding(IntPtr context, int padding);

    [LibraryImport(Library)]
    private static partial int EVP_PKEY_decrypt(IntPtr context, [Out] byte[] output, ref nuint outputLength, byte[] input, nuint inputLength);

    [LibraryImport(Library)]
    private static partial int EVP_PKEY_encrypt_init(IntPtr context);

    [LibraryImport(Library)]
    private static partial int EVP_PKEY_encrypt(IntPtr context, [Out] byte[] output, ref nuint outputLength, byte[] input, nuint inputLength);

    [LibraryImport(Library)]
    private static partial void EVP_PKEY_CTX_free(IntPtr context);
}
