defmodule App.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :app,
      version: @version,
      elixir: "~> 1.15",
      deps: deps()
    ]
  end

  defp deps do
    [
      {:phoenix, "~> 1.7.10"},
      {:ecto_sql, ">= 3.10.0 and < 4.0.0"},
      {:jason, "~> 1.4", optional: true},
      {:credo, "~> 1.7", only: [:dev, :test], runtime: false},
      {:ex_doc, ">= 0.0.0", only: :dev},
      {:local, path: "../local"},
      {:umbrella_app, in_umbrella: true},
      {:gitdep, git: "https://github.com/user/gitdep.git", tag: "v1.0"},
      {:plug_cowboy, "~> 2.6", override: true},
      # {:commented, "~> 1.0"}
    ]
  end
end
