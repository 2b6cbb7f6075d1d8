using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Fuzz;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;

// The fuzzing entry point (fuzz/README.md):
//   run TARGET          one target under AFL++ (SharpFuzz persistent mode; started by fuzz/run.sh)
//   seed CORPUS VECTORS write the seed inputs of every target into CORPUS/<target>/ from our own
//                       signer and keys and from the RFC test vectors in VECTORS (tests/.../Vectors)
switch (args)
{
    case ["run", var name] when FuzzTargets.All.TryGetValue(name, out var target):
        SharpFuzz.Fuzzer.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            target(buffer.ToArray());
        });
        return 0;
    case ["seed", var corpus, var vectors]:
        Seeds.Write(corpus, vectors);
        return 0;
    default:
        Console.Error.WriteLine($"usage: run <{string.Join('|', FuzzTargets.All.Keys)}> | seed CORPUS VECTORS");
        return 2;
}

/// <summary>Seed inputs: valid examples of each format, so mutations start deep inside the parsers.</summary>
internal static class Seeds
{
    public static void Write(string corpus, string vectors)
    {
        var seeds = new List<(string Target, string Name, byte[] Bytes)>();
        void Add(string target, string name, byte[] bytes) => seeds.Add((target, name, bytes));
        void AddText(string target, string name, string text) => Add(target, name, Encoding.UTF8.GetBytes(text));

        foreach (var (name, text) in new[] { ("e164", "+33612345678"), ("tel-uri", "tel:+1-201-555-0123"), ("national", "06 12 34 56 78"), ("mailto", "mailto:bob@example.org"), ("email", "Bob@Example.ORG"), ("mui", "wire:@bob"), ("audience", "only:wire,signal"), ("mapping-id", "m-0123456789abcdef") })
        {
            AddText("csi", name, text);
        }

        const string Record = "v=MIMI1; p=2; a=+15551234567; e=mimi.whatsapp.com; s=whatsapp";
        AddText("mimi-record", "text", Record);
        Add("mimi-record", "txt-rdata", TxtWire.Encode(Record));

        var csi = CsiParser.ParseOrThrow("+33612345678");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var credential = FuzzTargets.Fixtures.Authority.IssueCredential(csi, key);
        var signer = new StatementSigner(key, credential, time: new FuzzTargets.FixedTime(FuzzTargets.Fixtures.Now));
        var mapping = signer.SignMapping(new MappingDraft(csi, 1, [new MspEntry("wire") { Account = "@bob", Priority = 10, Tags = ["default"] }]) { Audience = Audience.Any });
        AddText("statement", "mapping", mapping);
        AddText("statement", "removal", signer.SignRemoval(new RemovalDraft(csi) { Target = signer.MappingIdFor(Audience.Any) }));
        Add("credential", "der", credential.RawData);

        var request = new BinaryHttpRequest("POST", "https", "dp.example", "/v1/lookup");
        request.Headers.Add(new BinaryHttpField("content-type", "application/json"));
        request.Content = "{\"csis\":[\"+33612345678\"]}"u8.ToArray();
        Add("bhttp-request", "lookup", request.Encode());
        Add("ohttp-request", "lookup", new OhttpClient(FuzzTargets.Fixtures.GatewayConfig).EncapsulateRequest(request.Encode()).EncapsulatedRequest.ToArray());
        var response = new BinaryHttpResponse(200);
        response.Headers.Add(new BinaryHttpField("content-type", "application/json"));
        response.Content = "{\"results\":[]}"u8.ToArray();
        Add("bhttp-response", "ok", response.Encode());
        Add("ohttp-keys", "gateway", FuzzTargets.Fixtures.Gateway.EncodeKeyConfigs());
        Add("ohttp-response", "short", new byte[16 + 16 + 8]);

        var lookup = new LookupResponse(
            [new LookupResult("+33612345678", "tel:+33612345678", LookupResultKinds.Found, [mapping], Labels: [new LabelProof("any", new string('A', 108), [new string('B', 43)], "leaf", Version: 1, Opening: new string('C', 22), Statements: [mapping])], MaxAge: 3600)],
            new EpochProof(3, 1_764_547_200_000, new string('D', 43), [new string('E', 43)], new TreeHeadWire(3, 1_764_547_200_000, new string('F', 43), new string('G', 86))));
        Add("lookup-response", "found", JsonSerializer.SerializeToUtf8Bytes(lookup, ProtocolJson.Default.LookupResponse));

        // RFC 9458 Appendix A, RFC 9292 §5, RFC 9577 Appendix A, RFC 9578 and the batched-tokens draft.
        using (var ohttp = JsonDocument.Parse(File.ReadAllText(Path.Combine(vectors, "Ohttp", "rfc9458-appendix-a.json"))))
        {
            Add("ohttp-keys", "rfc9458", Hex(ohttp.RootElement, "key_config"));
            Add("ohttp-response", "rfc9458", Hex(ohttp.RootElement, "encapsulated_response"));
            Add("bhttp-request", "rfc9458", Hex(ohttp.RootElement, "request_bhttp"));
            Add("bhttp-response", "rfc9458", Hex(ohttp.RootElement, "response_bhttp"));
        }

        using (var issuance = JsonDocument.Parse(File.ReadAllText(Path.Combine(vectors, "PrivacyPass", "pat-go", "type2-issuance-test-vectors.json"))))
        {
            var v = issuance.RootElement[0];
            Add("token-request", "request", Hex(v, "token_request"));
            Add("token-request", "response", Hex(v, "token_response"));
            Add("token-request", "challenge", Hex(v, "token_challenge"));
            Add("token-request", "key", Hex(v, "pkS"));
            Add("token", "type2", Hex(v, "token"));
            AddText("private-token-header", "authorization", "PrivateToken token=\"" + Convert.ToBase64String(Hex(v, "token")).Replace('+', '-').Replace('/', '_').TrimEnd('=') + "\"");
        }

        using (var batched = JsonDocument.Parse(File.ReadAllText(Path.Combine(vectors, "PrivacyPass", "batched", "generic-batch-type2.json"))))
        {
            Add("batched-issuance", "request", Hex(batched.RootElement, "tokenRequest"));
            Add("batched-issuance", "response", Hex(batched.RootElement, "tokenResponse"));
        }

        using (var header = JsonDocument.Parse(File.ReadAllText(Path.Combine(vectors, "PrivacyPass", "rfc9577-appendix-a.json"))))
        {
            var i = 0;
            foreach (var vector in header.RootElement.GetProperty("http_header").GetProperty("vectors").EnumerateArray())
            {
                if (vector.TryGetProperty("www_authenticate", out var challenge))
                {
                    AddText("private-token-header", $"challenge-{i++}", challenge.GetString()!);
                }
            }
        }

        AddText("private-token-header", "directory", "{\"issuer-request-uri\":\"https://dp.example/v1/tokens\",\"token-keys\":[{\"token-type\":2,\"token-key\":\"AAAA\",\"not-before\":1764547200}]}");

        foreach (var (target, name, bytes) in seeds)
        {
            var folder = Directory.CreateDirectory(Path.Combine(corpus, target)).FullName;
            File.WriteAllBytes(Path.Combine(folder, "seed-" + name), bytes);
        }

        Console.WriteLine($"{seeds.Count} seeds for {seeds.Select(s => s.Target).Distinct().Count()} targets in {corpus}");
    }

    private static byte[] Hex(JsonElement element, string name) => Convert.FromHexString(element.GetProperty(name).GetString()!);
}
