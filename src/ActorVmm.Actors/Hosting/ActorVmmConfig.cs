using Akka.Configuration;

namespace ActorVmm.Actors.Hosting;

/// <summary>ActorVmm's Akka configuration (config/akka.hocon, embedded in this assembly).</summary>
public static class ActorVmmConfig
{
    private const string ResourceName = "ActorVmm.Actors.akka.hocon";

    /// <summary>The text of config/akka.hocon as built.</summary>
    public static string Hocon { get; } = ReadResource();

    /// <summary>Parses config/akka.hocon.</summary>
    public static Config Load() => ConfigurationFactory.ParseString(Hocon);

    /// <summary>Parses a hocon file (the host's copy of config/akka.hocon), with a clear error when it is missing.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Config LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Akka configuration '{path}' not found", path);
        }

        return ConfigurationFactory.ParseString(File.ReadAllText(path));
    }

    private static string ReadResource()
    {
        using var stream = typeof(ActorVmmConfig).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from {typeof(ActorVmmConfig).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
