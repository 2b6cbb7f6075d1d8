using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Mimi.Discovery.Server.Tests.Observability;

/// <summary>A Prometheus text exposition, read as sums of the samples that match a name and labels.</summary>
internal sealed class Scrape(string text)
{
    public const string Token = "scrape-token-for-tests";

    public static readonly string TokenHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Token)));

    public string Text { get; } = text;

    /// <summary>The sum of every sample of <paramref name="name"/> carrying all of <paramref name="labels"/> (<c>key="value"</c>); 0 when there is none.</summary>
    public double Sum(string name, params string[] labels)
    {
        var sum = 0d;
        foreach (var line in Text.Split('\n'))
        {
            if (line.StartsWith('#') || !(line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal)))
            {
                continue;
            }

            var valueAt = line.LastIndexOf('}') is var close and > 0 ? close + 1 : name.Length;
            var series = line[..valueAt];
            if (labels.All(l => series.Contains(l, StringComparison.Ordinal)))
            {
                sum += double.Parse(line[valueAt..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    /// <summary>Scrapes <paramref name="url"/> (the metrics listener, or the public port with the token).</summary>
    public static async Task<Scrape> TakeAsync(HttpClient http, Uri url, string? token = Token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"scrape answered {(int)response.StatusCode}: {body}");
        return new Scrape(body);
    }
}
